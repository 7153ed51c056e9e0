#pragma once
// Which address a hit came from. The socket peer, unless that peer is one of the operator's
// trusted proxies (PLUMB_TRUSTED_PROXIES), in which case X-Forwarded-For is believed — but only
// as far back as the chain stays inside trusted proxies, so a client cannot forge its address by
// sending its own X-Forwarded-For header.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plumb/core/expected.hpp"

namespace plumb::collector {

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
};

// Parses "10.0.0.0/8, 2001:db8::/32, 192.0.2.1" (a bare address is a /32 or /128).
expected<std::vector<cidr>, std::string> parse_cidr_list(std::string_view text);

// The client address for a request: `peer` when it is not trusted; otherwise the right-most
// X-Forwarded-For entry that is not itself a trusted proxy. Malformed entries stop the walk (the
// last address known good is used). Returns the canonical text form.
std::string client_address(std::string_view peer, std::optional<std::string_view> forwarded_for,
                           const std::vector<cidr>& trusted_proxies);

}  // namespace plumb::collector
