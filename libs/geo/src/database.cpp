#include "plumb/geo/database.hpp"

#include <arpa/inet.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <system_error>
#include <utility>

namespace plumb::geo {
namespace {

// The longest text inet_pton accepts ("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255");
// longer input is rejected before it is copied anywhere.
constexpr std::size_t max_address_text = INET6_ADDRSTRLEN - 1;
// Real city names are well under 100 bytes; a longer value is a broken record, not a city.
constexpr std::size_t max_city_bytes = 200;
// ISO 3166-2 subdivision suffixes are one to three letters or digits ("BY", "75", "ENG").
constexpr std::size_t max_subdivision_chars = 3;
// CLDR and several databases write "ZZ" for "unknown territory": that is no country.
constexpr std::string_view unknown_country = "ZZ";

// Record paths (null-terminated, as MMDB_aget_value wants) for the two layouts we read.
constexpr std::array<const char*, 3> geoip2_country_path{"country", "iso_code", nullptr};
constexpr std::array<const char*, 2> flat_country_path{"country_code", nullptr};
constexpr std::array<const char*, 4> geoip2_subdivision_path{"subdivisions", "0", "iso_code",
                                                             nullptr};
constexpr std::array<const char*, 4> geoip2_city_path{"city", "names", "en", nullptr};
constexpr std::array<const char*, 2> flat_city_path{"city", nullptr};

// Storage for either address family, passed to libmaxminddb as the `sockaddr` it reads.
union socket_address {
  sockaddr base;
  sockaddr_in v4;
  sockaddr_in6 v6;
};

bool ascii_letter(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
bool ascii_digit(char c) {
  return c >= '0' && c <= '9';
}
char ascii_upper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

// Parses a numeric IPv4/IPv6 address with inet_pton, which never touches DNS (unlike
// MMDB_lookup_string's getaddrinfo, harmless with AI_NUMERICHOST but one step from a resolver).
// IPv4-mapped IPv6 becomes IPv4 so dual-stack sockets find IPv4 ranges. False on anything else.
bool parse_address(std::string_view text, socket_address& out) {
  if (text.empty() || text.size() > max_address_text || text.find('\0') != std::string_view::npos) {
    return false;
  }
  std::array<char, max_address_text + 1> terminated{};
  std::copy(text.begin(), text.end(), terminated.begin());

  out = socket_address{};
  if (inet_pton(AF_INET, terminated.data(), &out.v4.sin_addr) == 1) {
    out.v4.sin_family = AF_INET;
    return true;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, terminated.data(), &v6) != 1) {
    return false;
  }
  constexpr std::array<std::uint8_t, 12> v4_mapped_prefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(v4_mapped_prefix.begin(), v4_mapped_prefix.end(), v6.s6_addr)) {
    out.v4.sin_family = AF_INET;
    std::memcpy(&out.v4.sin_addr, v6.s6_addr + v4_mapped_prefix.size(), sizeof out.v4.sin_addr);
    return true;
  }
  out.v6.sin6_family = AF_INET6;
  out.v6.sin6_addr = v6;
  return true;
}

// The UTF-8 string at `path` in the record, or empty when the path is missing or holds another
// type (GeoLite2's `city` is a map, so the flat `city` path does not match it).
std::string_view string_at(MMDB_entry_s entry, const char* const* path) {
  MMDB_entry_data_s data{};
  if (MMDB_aget_value(&entry, &data, path) != MMDB_SUCCESS || !data.has_data ||
      data.type != MMDB_DATA_TYPE_UTF8_STRING || data.utf8_string == nullptr) {
    return {};
  }
  return {data.utf8_string, data.data_size};
}

// "de" -> "DE"; anything but two ASCII letters, and "ZZ", -> "".
std::string normalise_country(std::string_view code) {
  if (code.size() != 2 || !ascii_letter(code[0]) || !ascii_letter(code[1])) {
    return {};
  }
  std::string out{ascii_upper(code[0]), ascii_upper(code[1])};
  return out == unknown_country ? std::string{} : out;
}

// GeoIP2 stores the part after the dash ("BY"); we return the full ISO 3166-2 code ("DE-BY").
std::string subdivision_code(const std::string& country, std::string_view suffix) {
  if (country.empty() || suffix.empty() || suffix.size() > max_subdivision_chars ||
      !std::all_of(suffix.begin(), suffix.end(),
                   [](char c) { return ascii_letter(c) || ascii_digit(c); })) {
    return {};
  }
  std::string out = country + '-';
  std::transform(suffix.begin(), suffix.end(), std::back_inserter(out), ascii_upper);
  return out;
}

// Well-formed UTF-8 without control characters. The city ends up in PostgreSQL text columns,
// where one invalid byte sequence would fail a whole COPY batch.
bool printable_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      if (lead < 0x20 || lead == 0x7f) {
        return false;
      }
      ++i;
      continue;
    }
    std::size_t length = 0;
    std::uint32_t code_point = 0;
    std::uint32_t smallest = 0;  // below it the encoding is overlong
    if ((lead & 0xe0U) == 0xc0U) {
      length = 2;
      code_point = lead & 0x1fU;
      smallest = 0x80;
    } else if ((lead & 0xf0U) == 0xe0U) {
      length = 3;
      code_point = lead & 0x0fU;
      smallest = 0x800;
    } else if ((lead & 0xf8U) == 0xf0U) {
      length = 4;
      code_point = lead & 0x07U;
      smallest = 0x10000;
    } else {
      return false;
    }
    if (text.size() - i < length) {
      return false;
    }
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0U) != 0x80U) {
        return false;
      }
      code_point = (code_point << 6U) | (next & 0x3fU);
    }
    const bool surrogate = code_point >= 0xd800 && code_point <= 0xdfff;
    if (code_point < smallest || code_point > 0x10ffff || surrogate) {
      return false;
    }
    i += length;
  }
  return true;
}

std::string city_name(std::string_view name) {
  if (name.size() > max_city_bytes || !printable_utf8(name)) {
    return {};
  }
  return std::string(name);
}

std::string open_error(const std::string& path, int status, int saved_errno) {
  switch (status) {
    case MMDB_FILE_OPEN_ERROR:
    case MMDB_IO_ERROR:
      return "cannot read GeoIP database '" + path +
             "': " + std::error_code(saved_errno, std::generic_category()).message();
    case MMDB_OUT_OF_MEMORY_ERROR:
      return "cannot map GeoIP database '" + path + "': out of memory";
    default:
      return "'" + path + "' is not a MaxMind DB (.mmdb) file: " + MMDB_strerror(status);
  }
}

}  // namespace

void database::mmdb_closer::operator()(MMDB_s* mmdb) const noexcept {
  MMDB_close(mmdb);
  delete mmdb;
}

database::database(std::unique_ptr<MMDB_s, mmdb_closer> mmdb, database_info info)
    : mmdb_(std::move(mmdb)), info_(std::move(info)) {}

database::database(database&&) noexcept = default;
database& database::operator=(database&&) noexcept = default;
database::~database() = default;

expected<database, std::string> database::open(const std::string& path) {
  if (path.empty()) {
    return unexpected<std::string>("GeoIP database path is empty");
  }
  // Checked up front because MMDB_open's errors for these cases are unhelpful (a directory
  // fails in mmap with "No such device"; an empty file as "invalid metadata").
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec) {
    return unexpected<std::string>("cannot read GeoIP database '" + path + "': " + ec.message());
  }
  if (!std::filesystem::is_regular_file(status)) {
    return unexpected<std::string>("GeoIP database '" + path + "' is not a regular file");
  }
  if (std::filesystem::file_size(path, ec) == 0 && !ec) {
    return unexpected<std::string>("GeoIP database '" + path + "' is empty");
  }

  // A failed MMDB_open has already released what it allocated, so MMDB_close must not run on it:
  // the handle only gets the closing deleter once the open succeeded.
  auto raw = std::make_unique<MMDB_s>();
  const int result = MMDB_open(path.c_str(), MMDB_MODE_MMAP, raw.get());
  const int saved_errno = errno;
  if (result != MMDB_SUCCESS) {
    return unexpected<std::string>(open_error(path, result, saved_errno));
  }
  std::unique_ptr<MMDB_s, mmdb_closer> mmdb(raw.release());

  database_info info;
  info.path = path;
  if (mmdb->metadata.database_type != nullptr) {
    info.type = mmdb->metadata.database_type;
  }
  info.build_epoch = mmdb->metadata.build_epoch;
  info.ip_version = mmdb->metadata.ip_version;
  info.node_count = mmdb->metadata.node_count;
  return database(std::move(mmdb), std::move(info));
}

location database::lookup(std::string_view ip) const {
  location out;
  socket_address address{};
  if (!mmdb_ || !parse_address(ip, address)) {
    return out;
  }
  int error = MMDB_SUCCESS;
  // An IPv6 address in an IPv4-only file is reported here
  // (MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR).
  const MMDB_lookup_result_s result = MMDB_lookup_sockaddr(mmdb_.get(), &address.base, &error);
  if (error != MMDB_SUCCESS || !result.found_entry) {
    return out;
  }

  out.country = normalise_country(string_at(result.entry, geoip2_country_path.data()));
  if (out.country.empty()) {
    out.country = normalise_country(string_at(result.entry, flat_country_path.data()));
  }
  // The flat layout's `state1` is a name, not a code, so only GeoIP2 records give a region.
  out.region =
      subdivision_code(out.country, string_at(result.entry, geoip2_subdivision_path.data()));
  out.city = city_name(string_at(result.entry, geoip2_city_path.data()));
  if (out.city.empty()) {
    out.city = city_name(string_at(result.entry, flat_city_path.data()));
  }
  return out;
}

expected<resolver, std::string> resolver::open(const std::vector<std::string>& paths) {
  if (paths.empty()) {
    return unexpected<std::string>("no GeoIP database path given");
  }
  resolver out;
  out.databases_.reserve(paths.size());
  for (const auto& path : paths) {
    auto db = database::open(path);
    if (!db) {
      return unexpected<std::string>(std::move(db).error());
    }
    out.databases_.push_back(std::move(db).value());
  }
  return out;
}

location resolver::lookup(std::string_view ip) const {
  for (const auto& db : databases_) {
    auto found = db.lookup(ip);
    if (!found.empty()) {
      return found;
    }
  }
  return {};
}

std::vector<std::string> split_path_list(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    auto item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    const auto first = item.find_first_not_of(" \t");
    if (first == std::string_view::npos) {
      continue;
    }
    item = item.substr(first, item.find_last_not_of(" \t") - first + 1);
    out.emplace_back(item);
  }
  return out;
}

}  // namespace plumb::geo
