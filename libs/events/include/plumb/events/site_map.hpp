#pragma once
// The registered-site map collectors consult for every hit. plumbctl / the dashboard publish it to
// Redis (hash <prefix>sites: domain -> descriptor JSON); collectors cache it in memory, so
// collection never depends on PostgreSQL.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "plumb/core/expected.hpp"

namespace plumb::events {

struct site_descriptor {
  std::int64_t id = 0;
  std::string timezone;
  // Drop hits from browsers sending DNT: 1 or Sec-GPC: 1 (default: count them, anonymously).
  bool ignore_do_not_track = false;
  friend bool operator==(const site_descriptor&, const site_descriptor&) = default;
};

std::string encode_site_descriptor(const site_descriptor& site);
// nullopt for malformed descriptors (the collector skips them and counts it).
std::optional<site_descriptor> decode_site_descriptor(std::string_view json);

// Canonical form of a site domain as customers type it and trackers send it: lower case, no
// scheme, path, port or trailing dot, leading "www." removed. Errors say what is wrong.
expected<std::string, std::string> normalize_domain(std::string_view input);

}  // namespace plumb::events
