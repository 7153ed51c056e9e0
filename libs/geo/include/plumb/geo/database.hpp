#pragma once
// Country (and, from city databases, region and city) for an IP address, read from MaxMind DB
// (.mmdb) files with libmaxminddb. Two record layouts are understood: MaxMind's GeoLite2/GeoIP2
// (`country.iso_code`, `subdivisions.0.iso_code`, `city.names.en`) and the flat one of the
// ip-location-db and DB-IP packages (`country_code`, `city`). See docs/GEOIP.md.
//
// Privacy: the address is only parsed (on the stack) and looked up; nothing here keeps or logs it.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "plumb/core/expected.hpp"

struct MMDB_s;  // libmaxminddb's handle; its header stays inside this library

namespace plumb::geo {

struct location {
  std::string country;  // ISO 3166-1 alpha-2, upper case ("DE"), or empty when unknown
  std::string region;   // ISO 3166-2 subdivision ("DE-BY") when the database has codes, else empty
  std::string city;     // English name ("Munich"), or empty

  bool empty() const { return country.empty() && region.empty() && city.empty(); }
  friend bool operator==(const location&, const location&) = default;
};

// What the file says about itself, for the startup log.
struct database_info {
  std::string path;
  std::string type;               // metadata `database_type`: "GeoLite2-Country", "country ipvAll"
  std::uint64_t build_epoch = 0;  // when the file was built, seconds since 1970-01-01 UTC
  unsigned ip_version = 0;        // 4: IPv4 addresses only; 6: both (IPv4 lives in ::/96)
  std::uint32_t node_count = 0;
};

// One memory-mapped .mmdb file. Lookups are const, allocate only for the returned strings, and
// are safe from any number of threads at once: libmaxminddb only reads the mapping (the one value
// older releases computed lazily is set in MMDB_open since 1.3.1; Debian 12 ships 1.7.1).
class database {
 public:
  // Fails with a one-line message when the file is missing, unreadable, or not a MaxMind DB.
  static expected<database, std::string> open(const std::string& path);

  database(database&&) noexcept;
  database& operator=(database&&) noexcept;
  database(const database&) = delete;
  database& operator=(const database&) = delete;
  ~database();

  // The location for a textual IPv4 or IPv6 address ("203.0.113.7", "2001:db8::1"; an
  // IPv4-mapped "::ffff:203.0.113.7" is looked up as IPv4). Anything else — empty, padded,
  // a host name (never resolved: no DNS), an IPv6 address in an IPv4-only file, an address the
  // file does not cover, or a record with neither layout — gives an empty location. Never throws
  // on bad input. A moved-from database answers empty.
  location lookup(std::string_view ip) const;

  const database_info& info() const { return info_; }

 private:
  struct mmdb_closer {
    void operator()(MMDB_s* mmdb) const noexcept;
  };
  database(std::unique_ptr<MMDB_s, mmdb_closer> mmdb, database_info info);

  // On the heap so that moving a database never moves the MMDB_s that lookups point into.
  std::unique_ptr<MMDB_s, mmdb_closer> mmdb_;
  database_info info_;
};

// What the collector holds: no database (geolocation off, every lookup empty) or a few files
// asked in order. Several files serve packages that ship IPv4 and IPv6 ranges separately (the
// DB-IP city package): the first file with an answer wins.
class resolver {
 public:
  static resolver none() { return resolver{}; }
  // Opens every path; fails on the first that cannot be opened, or when `paths` is empty.
  static expected<resolver, std::string> open(const std::vector<std::string>& paths);

  bool enabled() const { return !databases_.empty(); }
  location lookup(std::string_view ip) const;
  const std::vector<database>& databases() const { return databases_; }

 private:
  resolver() = default;
  std::vector<database> databases_;
};

// Splits a PLUMB_GEOIP_DB value: paths separated by commas, blanks around each dropped, empty
// entries skipped. "a.mmdb, b.mmdb" -> {"a.mmdb", "b.mmdb"}; "" -> {}.
std::vector<std::string> split_path_list(std::string_view text);

}  // namespace plumb::geo
