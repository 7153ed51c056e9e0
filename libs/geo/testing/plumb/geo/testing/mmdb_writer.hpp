#pragma once
// Test-only: writes small MaxMind DB files (binary format 2.0, 24-bit records) so the geo tests
// need neither the network nor a downloaded database. Format: https://maxmind.github.io/MaxMind-DB/
//   search tree (node_count nodes of two 3-byte records) | 16 zero bytes | data section |
//   "\xAB\xCD\xEFMaxMind.com" | metadata map
// A record below node_count points to a node, node_count means "no data", and anything above
// points into the data section at (record - node_count - 16).

#include <arpa/inet.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace plumb::geo::testing {

// Data-section encoders. Each returns the bytes of one value, so values nest:
//   map({{"country", map({{"iso_code", utf8("DE")}})}})
namespace mmdb {

// Type numbers from the specification; 8 and above are "extended" types.
constexpr unsigned type_utf8 = 2;
constexpr unsigned type_uint16 = 5;
constexpr unsigned type_uint32 = 6;
constexpr unsigned type_map = 7;
constexpr unsigned type_uint64 = 9;
constexpr unsigned type_array = 11;
constexpr unsigned first_extended_type = 8;
constexpr std::size_t one_byte_size_base = 29;
constexpr std::size_t two_byte_size_base = 285;
constexpr std::size_t three_byte_size_base = 65821;

inline char byte(std::uint64_t value) {
  return static_cast<char>(value & 0xffU);
}

// Control byte, then the extended-type byte if any, then the size's extra bytes.
inline std::string control(unsigned type, std::size_t size) {
  std::string out;
  const unsigned type_bits = type < first_extended_type ? type : 0;
  std::string size_bytes;
  unsigned size_bits = 0;
  if (size < one_byte_size_base) {
    size_bits = static_cast<unsigned>(size);
  } else if (size < two_byte_size_base) {
    size_bits = 29;
    size_bytes += byte(size - one_byte_size_base);
  } else if (size < three_byte_size_base) {
    size_bits = 30;
    const auto rest = size - two_byte_size_base;
    size_bytes += {byte(rest >> 8U), byte(rest)};
  } else {
    size_bits = 31;
    const auto rest = size - three_byte_size_base;
    size_bytes += {byte(rest >> 16U), byte(rest >> 8U), byte(rest)};
  }
  out += byte((type_bits << 5U) | size_bits);
  if (type >= first_extended_type) {
    out += byte(type - 7);
  }
  return out + size_bytes;
}

inline std::string utf8(std::string_view text) {
  return control(type_utf8, text.size()) + std::string(text);
}

// Unsigned integers are stored big-endian in as few bytes as the value needs.
inline std::string unsigned_value(unsigned type, std::uint64_t value) {
  std::string digits;
  for (; value != 0; value >>= 8U) {
    digits.insert(digits.begin(), byte(value));
  }
  return control(type, digits.size()) + digits;
}
inline std::string uint16(std::uint16_t value) {
  return unsigned_value(type_uint16, value);
}
inline std::string uint32(std::uint32_t value) {
  return unsigned_value(type_uint32, value);
}
inline std::string uint64(std::uint64_t value) {
  return unsigned_value(type_uint64, value);
}

inline std::string map(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out = control(type_map, entries.size());
  for (const auto& [key, value] : entries) {
    out += utf8(key) + value;
  }
  return out;
}

inline std::string array(const std::vector<std::string>& items) {
  std::string out = control(type_array, items.size());
  for (const auto& item : items) {
    out += item;
  }
  return out;
}

// A minimal record of MaxMind's GeoIP2 City layout: country, first subdivision (its code without
// the country: "BY") and English city name.
inline std::string geoip2_city(std::string_view country, std::string_view subdivision,
                               std::string_view city) {
  return map({{"country", map({{"iso_code", utf8(country)}})},
              {"subdivisions", array({map({{"iso_code", utf8(subdivision)}})})},
              {"city", map({{"names", map({{"en", utf8(city)}})}})}});
}

}  // namespace mmdb

struct network {
  std::string address;  // "192.0.2.0" or "2001:db8::"
  unsigned prefix_bits;
  std::string data;  // one encoded value, usually a map
};

struct build_options {
  unsigned ip_version = 4;  // 6: IPv4 networks go to ::/96, as in MaxMind's and DB-IP's files
  std::string database_type = "Plumb-Test-Country";
  std::uint64_t build_epoch = 1700000000;
};

// Builds the bytes of a database holding `networks`. A network inside one inserted earlier
// overrides that part of it. Throws std::invalid_argument on a bad address or prefix.
inline std::string build_mmdb(const std::vector<network>& networks,
                              const build_options& options = {}) {
  struct record {
    enum class kind { empty, node, data } what = kind::empty;
    std::size_t value = 0;
  };
  std::vector<std::array<record, 2>> nodes(1);

  for (std::size_t index = 0; index < networks.size(); ++index) {
    const auto& net = networks[index];
    std::array<std::uint8_t, 16> bytes{};
    unsigned bits = net.prefix_bits;
    std::array<std::uint8_t, 4> v4{};
    if (inet_pton(AF_INET, net.address.c_str(), v4.data()) == 1) {
      if (bits > 32) {
        throw std::invalid_argument("prefix too long: " + net.address);
      }
      const std::size_t at = options.ip_version == 6 ? 12 : 0;
      std::copy(v4.begin(), v4.end(), bytes.begin() + static_cast<std::ptrdiff_t>(at));
      bits += options.ip_version == 6 ? 96 : 0;
    } else if (options.ip_version == 6 &&
               inet_pton(AF_INET6, net.address.c_str(), bytes.data()) == 1) {
      if (bits > 128) {
        throw std::invalid_argument("prefix too long: " + net.address);
      }
    } else {
      throw std::invalid_argument("not an address for this tree: " + net.address);
    }
    if (bits == 0) {
      throw std::invalid_argument("a network needs at least one prefix bit");
    }

    std::size_t node = 0;
    for (unsigned bit = 0; bit < bits; ++bit) {
      const unsigned side = (static_cast<unsigned>(bytes[bit / 8]) >> (7U - bit % 8U)) & 1U;
      if (bit + 1 == bits) {
        nodes[node][side] = {record::kind::data, index};
        break;
      }
      if (nodes[node][side].what != record::kind::node) {
        // Split: the new node's halves inherit what covered the whole range until now.
        const record inherited = nodes[node][side];
        nodes.push_back({inherited, inherited});
        nodes[node][side] = {record::kind::node, nodes.size() - 1};
      }
      node = nodes[node][side].value;
    }
  }

  std::string data;
  std::vector<std::size_t> offsets;
  for (const auto& net : networks) {
    offsets.push_back(data.size());
    data += net.data;
  }

  constexpr std::size_t data_separator = 16;
  constexpr std::uint64_t max_record = (1U << 24U) - 1;
  const std::size_t node_count = nodes.size();
  std::string tree;
  for (const auto& node : nodes) {
    for (const auto& rec : node) {
      std::uint64_t value = node_count;
      if (rec.what == record::kind::node) {
        value = rec.value;
      } else if (rec.what == record::kind::data) {
        value = node_count + data_separator + offsets[rec.value];
      }
      if (value > max_record) {
        throw std::invalid_argument("database too large for 24-bit records");
      }
      tree += {mmdb::byte(value >> 16U), mmdb::byte(value >> 8U), mmdb::byte(value)};
    }
  }

  const std::string metadata = mmdb::map({
      {"binary_format_major_version", mmdb::uint16(2)},
      {"binary_format_minor_version", mmdb::uint16(0)},
      {"build_epoch", mmdb::uint64(options.build_epoch)},
      {"database_type", mmdb::utf8(options.database_type)},
      {"description", mmdb::map({{"en", mmdb::utf8("Plumb test database")}})},
      {"ip_version", mmdb::uint16(static_cast<std::uint16_t>(options.ip_version))},
      {"languages", mmdb::array({mmdb::utf8("en")})},
      {"node_count", mmdb::uint32(static_cast<std::uint32_t>(node_count))},
      {"record_size", mmdb::uint16(24)},
  });
  return tree + std::string(data_separator, '\0') + data + "\xAB\xCD\xEFMaxMind.com" + metadata;
}

// A file in the temporary directory, removed when this goes out of scope.
class temp_file {
 public:
  explicit temp_file(std::string_view contents) {
    static std::atomic<unsigned> counter{0};
    path_ =
        std::filesystem::temp_directory_path() / ("plumb-geo-test-" + std::to_string(::getpid()) +
                                                  "-" + std::to_string(counter++) + ".mmdb");
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    if (!out) {
      throw std::runtime_error("cannot write " + path_.string());
    }
  }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
  ~temp_file() {
    std::error_code ignored;  // best effort: a leftover file in /tmp must not fail a test
    std::filesystem::remove(path_, ignored);
  }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace plumb::geo::testing
