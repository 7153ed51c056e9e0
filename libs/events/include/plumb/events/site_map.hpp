#pragma once
// The registered-site map collectors consult for every hit. plumbctl / the dashboard publish it to
// Redis (hash <prefix>sites: domain -> descriptor JSON); collectors cache it in memory, so
// collection never depends on PostgreSQL.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plumb/core/expected.hpp"
#include "plumb/core/ip_address.hpp"

namespace plumb::events {

struct site_descriptor {
  std::int64_t id = 0;
  std::string timezone;
  // Drop hits from browsers sending DNT: 1 or Sec-GPC: 1 (default: count them, anonymously).
  bool ignore_do_not_track = false;
  // Hits from these client addresses are not counted (the owner's office, monitoring).
  std::vector<core::cidr> excluded_ip_ranges;
  // When not empty, only pages on these hosts are counted ("*.example.com": any subdomain).
  std::vector<std::string> allowed_hostnames;
  friend bool operator==(const site_descriptor&, const site_descriptor&) = default;
};

std::string encode_site_descriptor(const site_descriptor& site);
// nullopt for malformed descriptors (the collector skips them and counts it).
std::optional<site_descriptor> decode_site_descriptor(std::string_view json);

// Whether the collector counts a hit for `site` from this client address and page host
// (lower case, no port).
bool address_excluded(const site_descriptor& site, const core::ip_address& client);
bool hostname_allowed(const site_descriptor& site, std::string_view host);

// An allowed-hostname entry as typed ("Example.COM", "*.example.com") in canonical form (lower
// case, an optional leading "*." wildcard); errors say what is wrong.
expected<std::string, std::string> normalize_hostname_pattern(std::string_view input);

// Canonical form of a site domain as customers type it and trackers send it: lower case, no
// scheme, path, port or trailing dot, leading "www." removed. Errors say what is wrong.
expected<std::string, std::string> normalize_domain(std::string_view input);

}  // namespace plumb::events
