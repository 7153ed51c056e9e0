#pragma once
// The typed stats query every endpoint builds: which site, which local days, which metrics, broken
// down by which property, under which filters. Pure data; parse.hpp builds it from request
// parameters, engine.hpp answers it. Metric definitions: DESIGN.md §4 and docs/ROLLUPS.md.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plumb/events/dimension.hpp"

namespace plumb::stats {

enum class metric {
  visitors,         // distinct daily visitor hashes
  visits,           // visits started in the period
  pageviews,        //
  views_per_visit,  // pageviews of the visits / visits
  bounce_rate,      // percent of visits that bounced
  visit_duration,   // mean seconds between a visit's first and last event
  events,           // custom events (not pageviews)
  conversions,      // goal (custom event) completions
  conversion_rate,  // percent of the period's visitors who completed the goal
  total_revenue,    // sum of the revenue of the goal's events
  average_revenue,  // total_revenue / events carrying revenue
  exit_rate,        // percent of a page's pageviews that ended a visit (page breakdown only)
};

struct metric_name {
  metric id;
  std::string_view name;
};
inline constexpr metric_name metric_names[] = {
    {metric::visitors, "visitors"},
    {metric::visits, "visits"},
    {metric::pageviews, "pageviews"},
    {metric::views_per_visit, "views_per_visit"},
    {metric::bounce_rate, "bounce_rate"},
    {metric::visit_duration, "visit_duration"},
    {metric::events, "events"},
    {metric::conversions, "conversions"},
    {metric::conversion_rate, "conversion_rate"},
    {metric::total_revenue, "total_revenue"},
    {metric::average_revenue, "average_revenue"},
    {metric::exit_rate, "exit_rate"},
};
std::string_view name_of(metric m);

// What a breakdown groups by or a filter tests: a report dimension, or one custom property
// (dimension::prop with its key). Goals (dimension::event) are custom event names, or pageview
// goals named "Visit PATTERN" (see page_goal_pattern).
struct property {
  events::dimension dimension = events::dimension::page;
  std::string prop_key;  // dimension::prop only
  friend bool operator==(const property&, const property&) = default;
};

// True for dimensions counted per visit with the values of its first event (source, country,
// entry page...) rather than per event (page, hostname, goal, custom properties).
constexpr bool is_visit_dimension(events::dimension d) {
  return static_cast<int>(d) >= static_cast<int>(events::dimension::entry_page);
}

// Pageview goals are named like Plausible's: "Visit " and a page path pattern. As in Plausible, the
// pattern matches the whole path, case-sensitively, and `*` (also written `**`) matches any run of
// characters, `/` included: "Visit /blog*" counts /blog, /blog/ and /blog/2026/hello.
inline constexpr std::string_view page_goal_prefix = "Visit ";
// The pattern of a pageview goal's name ("/blog*" for "Visit /blog*"); nullopt for a custom event.
std::optional<std::string_view> page_goal_pattern(std::string_view goal);
// A pattern as an SQL LIKE pattern (escape character `\`): `*` becomes `%`, `%` `_` `\` are
// escaped.
std::string page_goal_like(std::string_view pattern);

enum class filter_op { is, is_not, contains, does_not_contain };

// `values` are alternatives (`|`): is = any of them, is_not = none of them, contains = the value
// contains any of them, does_not_contain = it contains none of them.
struct filter {
  property target;
  filter_op op = filter_op::is;
  std::vector<std::string> values;
};

// Calendar days in the site's timezone, both ends included, "YYYY-MM-DD".
struct date_range {
  std::string first_day;
  std::string last_day;
  friend bool operator==(const date_range&, const date_range&) = default;
};

enum class interval { minute, hour, day, week, month };

enum class comparison { none, previous_period, previous_year };

struct query {
  std::int64_t site_id = 0;
  std::string timezone = "UTC";  // the site's IANA zone
  date_range range;
  // The last 30 minutes up to `now_ms` instead of `range` (the realtime view, interval minute).
  bool realtime = false;
  std::int64_t now_ms = 0;
  std::vector<metric> metrics{metric::visitors};
  std::optional<property> breakdown;
  std::vector<filter> filters;  // all must hold (AND)
  // The site's pageview goal patterns ("/blog*"): event:goal breakdowns list each as a row
  // "Visit /blog*" beside the custom events (goal filters need none: the name holds the pattern).
  std::vector<std::string> page_goals;
  interval step = interval::day;
  comparison compare = comparison::none;
  std::size_t limit = 100;
  std::size_t page = 1;  // 1-based
};

}  // namespace plumb::stats
