#pragma once
// Plausible Stats API v1 parameters -> a validated stats::query. Pure, unit-tested. Every error
// names the parameter and, for unknown names, lists the valid ones.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plumb/core/expected.hpp"
#include "plumb/stats/query.hpp"

namespace plumb::stats {

using parameters = std::vector<std::pair<std::string, std::string>>;
using field_errors = std::vector<std::pair<std::string, std::string>>;

enum class view { aggregate, timeseries, breakdown };

// What the caller knows about the site and the moment of the request.
struct site_context {
  std::int64_t site_id = 0;
  std::string timezone = "UTC";
  std::string today;      // the site's local date, "YYYY-MM-DD"
  std::string first_day;  // the site's first local day with data (for period=all)
  std::int64_t now_ms = 0;
};

// "event:page", "visit:source", "event:props:plan"... (Plausible v1 names).
expected<property, std::string> parse_property(std::string_view name);
std::string property_name(const property& p);
// The key breakdown rows carry the value under: "page", "source", "goal", the property key...
std::string breakdown_key(const property& p);
// `event:page==/blog|/docs;visit:country!=DE` (== is, != is not, ~ contains, !~ does not contain;
// `|` separates alternatives; `;` ANDs filters). A value cannot contain `;` or `|`.
expected<std::vector<filter>, std::string> parse_filters(std::string_view text);

// Parameters: period, date, metrics, property (breakdown), filters, interval (timeseries),
// compare (previous_period | previous_year), limit, page. Defaults as Plausible's: period 30d,
// metrics visitors, interval day (hour for period=day, minute for realtime), limit 100.
expected<query, field_errors> parse_query(const parameters& params, view kind,
                                          const site_context& site);

// The value of the first parameter with this name, or "" (bounded in length).
std::string parameter(const parameters& params, std::string_view name);

inline constexpr std::string_view valid_intervals = "minute, hour, day, date, week, month";
inline constexpr std::string_view valid_comparisons = "previous_period, previous_year";
std::string valid_metrics();
std::string valid_properties();

}  // namespace plumb::stats
