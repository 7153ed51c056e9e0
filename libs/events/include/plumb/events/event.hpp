#pragma once
// One accepted hit for one site, as the collector hands it to the workers. Every field is already
// validated and bounded by the collector; the raw client IP is not here and never will be.

#include <cstdint>
#include <optional>
#include <string>

#include "plumb/core/event_id.hpp"

namespace plumb::events {

struct revenue {
  std::string currency;  // ISO 4217, upper case
  std::string amount;    // decimal text, e.g. "12.50" (exact: never a float)
  friend bool operator==(const revenue&, const revenue&) = default;
};

struct event {
  core::event_id id;
  std::int64_t received_ms = 0;  // Unix ms at the collector; equals id.unix_ms()
  std::int64_t site_id = 0;
  std::string name;              // "pageview" or a custom event name
  std::string url;               // full page URL as sent by the tracker
  std::string referrer;          // may be empty
  std::optional<std::int32_t> screen_width;
  bool hash_mode = false;        // h=1: the #fragment is part of the page path
  bool interactive = true;       // false: does not count against bounce
  std::string props_json;        // JSON object of string values, or empty
  std::optional<events::revenue> revenue;
  std::uint64_t visitor_hash = 0;           // under today's salt
  std::uint64_t previous_visitor_hash = 0;  // under yesterday's salt (visits across midnight)
  std::string country;           // ISO 3166-1 alpha-2, or empty when unknown
  std::string region;            // ISO 3166-2 ("DE-BY"), or empty (city databases only)
  std::string city;              // English name as the database gives it, or empty
  std::string user_agent;        // transits the queue for enrichment; never stored

  friend bool operator==(const event&, const event&) = default;
};

inline constexpr std::string_view pageview_name = "pageview";

}  // namespace plumb::events
