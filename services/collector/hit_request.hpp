#pragma once
// Parsing and validation of one Plausible Events API request body (DESIGN.md §3), before any
// site lookup. Pure: no I/O, no clock.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plumb/core/expected.hpp"
#include "plumb/events/event.hpp"

namespace plumb::collector {

// Limits on what a tracker may send. Generous for real pages, small enough that one request can
// never make a stream entry large.
inline constexpr std::size_t max_body_bytes = 16 * 1024;
inline constexpr std::size_t max_url_bytes = 2'000;
inline constexpr std::size_t max_event_name_bytes = 120;
inline constexpr std::size_t max_props = 30;
inline constexpr std::size_t max_prop_key_bytes = 300;
inline constexpr std::size_t max_prop_value_bytes = 2'000;
inline constexpr std::size_t max_domains = 10;  // "d" may name several sites
inline constexpr std::int64_t max_screen_width = 100'000;

struct hit_request {
  std::string name;
  std::string url;
  std::vector<std::string> domains;  // normalised; from "d", or the URL's host when absent
  std::string hostname;              // the URL's host: lower case, no port or credentials
  std::string referrer;
  std::optional<std::int32_t> screen_width;
  bool hash_mode = false;
  bool interactive = true;
  std::string props_json;  // canonical JSON object of string values, or empty
  std::optional<events::revenue> revenue;
};

// field -> message, answered as {"errors": {...}} with status 400.
using field_errors = std::vector<std::pair<std::string, std::string>>;

// Parses a JSON body with short or long keys (n/name, u/url, d/domain, r/referrer, w, h,
// p/props, $/revenue, i/interactive). Every problem found is reported, not just the first.
expected<hit_request, field_errors> parse_hit_json(std::string_view body);
// The same fields as decoded query parameters (GET /api/event, the no-JS pixel); `p` and `$`
// carry JSON text.
expected<hit_request, field_errors> parse_hit_query(
    const std::vector<std::pair<std::string, std::string>>& query);

}  // namespace plumb::collector
