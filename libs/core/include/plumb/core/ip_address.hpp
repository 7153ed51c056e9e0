#pragma once
// IPv4/IPv6 addresses and CIDR ranges: trusted proxies, and the ranges a site excludes from counting.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plumb/core/expected.hpp"

namespace plumb::core {

// An IPv4 or IPv6 address in 16 bytes (IPv4 as IPv4-mapped IPv6), so one comparison serves both.
struct ip_address {
  std::array<std::uint8_t, 16> bytes{};
  static std::optional<ip_address> parse(std::string_view text);
  // Canonical text ("203.0.113.7", "2001:db8::1"); IPv4-mapped addresses print as IPv4.
  std::string to_string() const;
  friend bool operator==(const ip_address&, const ip_address&) = default;
};

struct cidr {
  ip_address network;
  unsigned prefix_bits = 128;  // on the 16-byte form: IPv4 /24 is stored as /120
  static expected<cidr, std::string> parse(std::string_view text);
  bool contains(const ip_address& address) const;
  // "10.0.0.0/8", "2001:db8::/32"; a single address prints without a prefix length.
  std::string to_string() const;
  friend bool operator==(const cidr&, const cidr&) = default;
};

// Parses "10.0.0.0/8, 2001:db8::/32, 192.0.2.1" (a bare address is a /32 or /128).
expected<std::vector<cidr>, std::string> parse_cidr_list(std::string_view text);

}  // namespace plumb::core
