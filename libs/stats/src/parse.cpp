#include "plumb/stats/parse.hpp"

#include <algorithm>
#include <array>
#include <charconv>

#include "plumb/stats/period.hpp"

namespace plumb::stats {
namespace {

using events::dimension;

// Longest parameter value looked at; anything longer is invalid input anyway.
constexpr std::size_t max_parameter_bytes = 2'000;
// Bounds on filters: enough for any dashboard, small enough that a request cannot make the
// database resolve thousands of alternatives.
constexpr std::size_t max_filters = 10;
constexpr std::size_t max_alternatives = 50;
// Plausible's page size limit.
constexpr std::size_t max_limit = 1'000;
constexpr std::size_t max_page = 100'000;

struct property_row {
  std::string_view name;
  dimension id;
  std::string_view key;  // breakdown rows carry the value under this key
};
constexpr std::array<property_row, 24> property_table{{
    {"event:page", dimension::page, "page"},
    {"event:hostname", dimension::hostname, "hostname"},
    {"event:goal", dimension::event, "goal"},
    {"event:name", dimension::event, "name"},
    {"visit:entry_page", dimension::entry_page, "entry_page"},
    {"visit:exit_page", dimension::exit_page, "exit_page"},
    {"visit:source", dimension::source, "source"},
    {"visit:referrer", dimension::referrer, "referrer"},
    {"visit:channel", dimension::channel, "channel"},
    {"visit:utm_source", dimension::utm_source, "utm_source"},
    {"visit:utm_medium", dimension::utm_medium, "utm_medium"},
    {"visit:utm_campaign", dimension::utm_campaign, "utm_campaign"},
    {"visit:utm_term", dimension::utm_term, "utm_term"},
    {"visit:utm_content", dimension::utm_content, "utm_content"},
    {"visit:country", dimension::country, "country"},
    {"visit:region", dimension::region, "region"},  // ISO 3166-2: "DE-BY"
    {"visit:city", dimension::city, "city"},        // events::city_value: "Munich, DE-BY"
    {"visit:browser", dimension::browser, "browser"},
    {"visit:browser_version", dimension::browser_version, "browser_version"},
    {"visit:os", dimension::os, "os"},
    {"visit:os_version", dimension::os_version, "os_version"},
    {"visit:device", dimension::device, "device"},
    {"visit:screen", dimension::screen, "screen"},
    {"event:props:", dimension::prop, ""},
}};
constexpr std::string_view props_prefix = "event:props:";

std::string bounded(std::string_view text) {
  return std::string(text.substr(0, 60));
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  while (true) {
    const auto at = text.find(separator);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) {
      return parts;
    }
    text.remove_prefix(at + 1);
  }
}

expected<std::size_t, std::string> parse_count(std::string_view text, std::size_t max) {
  std::size_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < 1 || n > max) {
    return unexpected("must be a whole number from 1 to " + std::to_string(max));
  }
  return n;
}

bool has(const std::vector<metric>& metrics, metric m) {
  return std::find(metrics.begin(), metrics.end(), m) != metrics.end();
}

bool visit_metric(metric m) {
  return m == metric::visits || m == metric::views_per_visit || m == metric::bounce_rate ||
         m == metric::visit_duration;
}

bool goal_metric(metric m) {
  return m == metric::conversions || m == metric::conversion_rate || m == metric::total_revenue ||
         m == metric::average_revenue;
}

// Metrics that need something the query does not have; the message says what.
void check_metric_context(const query& q, view kind, field_errors& errors) {
  const bool event_breakdown = q.breakdown && !is_visit_dimension(q.breakdown->dimension);
  const bool goal_breakdown = q.breakdown && q.breakdown->dimension == dimension::event;
  const bool goal_filter = std::any_of(q.filters.begin(), q.filters.end(), [](const filter& f) {
    return f.target.dimension == dimension::event && f.op == filter_op::is;
  });
  for (const auto m : q.metrics) {
    if (event_breakdown && visit_metric(m)) {
      errors.emplace_back("metrics", "metric '" + std::string(name_of(m)) +
                                         "' counts visits and cannot break down by " +
                                         property_name(*q.breakdown) + " (an event property)");
    } else if (goal_metric(m) && !goal_breakdown && !goal_filter) {
      errors.emplace_back("metrics", "metric '" + std::string(name_of(m)) +
                                         "' needs a goal: filters=event:goal==NAME or "
                                         "property=event:goal");
    } else if (m == metric::exit_rate && (kind != view::breakdown || !q.breakdown ||
                                          q.breakdown->dimension != dimension::page)) {
      errors.emplace_back("metrics", "metric 'exit_rate' needs property=event:page");
    }
    if (q.realtime && m != metric::visitors && m != metric::pageviews && m != metric::events &&
        m != metric::visits) {
      errors.emplace_back("metrics",
                          "realtime supports visitors, visits, pageviews and events, not '" +
                              std::string(name_of(m)) + "'");
    }
  }
}

}  // namespace

std::string_view name_of(metric m) {
  for (const auto& entry : metric_names) {
    if (entry.id == m) {
      return entry.name;
    }
  }
  return {};
}

std::string valid_metrics() {
  std::string out;
  for (const auto& entry : metric_names) {
    out += (out.empty() ? "" : ", ") + std::string(entry.name);
  }
  return out;
}

std::string valid_properties() {
  std::string out;
  for (const auto& row : property_table) {
    out += (out.empty() ? "" : ", ") + std::string(row.name);
  }
  return out + "<key>";
}

std::string parameter(const parameters& params, std::string_view name) {
  for (const auto& [key, value] : params) {
    if (key == name) {
      return value.substr(0, max_parameter_bytes);
    }
  }
  return {};
}

expected<property, std::string> parse_property(std::string_view name) {
  if (name.starts_with(props_prefix)) {
    const auto key = name.substr(props_prefix.size());
    if (key.empty() || key.size() > 300 ||
        key.find(events::value_separator) != std::string_view::npos) {
      return unexpected<std::string>("custom property names must be 1 to 300 characters");
    }
    return property{dimension::prop, std::string(key)};
  }
  for (const auto& row : property_table) {
    if (row.name == name && row.id != dimension::prop) {
      return property{row.id, {}};
    }
  }
  return unexpected("unknown property '" + bounded(name) +
                    "'; valid properties: " + valid_properties());
}

std::string property_name(const property& p) {
  if (p.dimension == dimension::prop) {
    return std::string(props_prefix) + p.prop_key;
  }
  for (const auto& row : property_table) {
    if (row.id == p.dimension) {
      return std::string(row.name);
    }
  }
  return {};
}

std::string breakdown_key(const property& p) {
  if (p.dimension == dimension::prop) {
    return p.prop_key;
  }
  for (const auto& row : property_table) {
    if (row.id == p.dimension) {
      return std::string(row.key);
    }
  }
  return {};
}

expected<std::vector<filter>, std::string> parse_filters(std::string_view text) {
  std::vector<filter> out;
  if (text.empty()) {
    return out;
  }
  for (const auto clause : split(text, ';')) {
    if (clause.empty()) {
      continue;
    }
    if (out.size() == max_filters) {
      return unexpected("at most " + std::to_string(max_filters) + " filters");
    }
    // The first operator in the clause: property names never contain '=', '!' or '~'.
    const auto at = clause.find_first_of("=!~");
    if (at == std::string_view::npos) {
      return unexpected("filter '" + bounded(clause) +
                        "' has no operator; use ==, != , ~ (contains) or !~ (does not contain)");
    }
    filter f;
    std::string_view rest = clause.substr(at);
    if (rest.starts_with("==")) {
      f.op = filter_op::is;
      rest.remove_prefix(2);
    } else if (rest.starts_with("!=")) {
      f.op = filter_op::is_not;
      rest.remove_prefix(2);
    } else if (rest.starts_with("!~")) {
      f.op = filter_op::does_not_contain;
      rest.remove_prefix(2);
    } else if (rest.starts_with("~")) {
      f.op = filter_op::contains;
      rest.remove_prefix(1);
    } else {
      return unexpected("filter '" + bounded(clause) +
                        "' has an unknown operator; use ==, !=, ~ or !~");
    }
    auto target = parse_property(clause.substr(0, at));
    if (!target) {
      return unexpected(target.error());
    }
    f.target = std::move(*target);
    for (const auto value : split(rest, '|')) {
      if (f.values.size() == max_alternatives) {
        return unexpected("at most " + std::to_string(max_alternatives) +
                          " alternatives per filter");
      }
      f.values.emplace_back(value);
    }
    out.push_back(std::move(f));
  }
  return out;
}

expected<query, field_errors> parse_query(const parameters& params, view kind,
                                          const site_context& site) {
  field_errors errors;
  query q;
  q.site_id = site.site_id;
  q.timezone = site.timezone;
  q.now_ms = site.now_ms;

  const std::string period =
      parameter(params, "period").empty() ? "30d" : parameter(params, "period");
  if (period == "realtime") {
    q.realtime = true;
    q.step = interval::minute;
  } else if (auto range =
                 resolve_period(period, parameter(params, "date"), site.today, site.first_day)) {
    q.range = *range;
    q.step = period == "day" ? interval::hour : interval::day;
  } else {
    errors.emplace_back("period", range.error());
  }

  const std::string metrics = parameter(params, "metrics");
  q.metrics.clear();
  for (const auto name : split(metrics.empty() ? std::string_view("visitors") : metrics, ',')) {
    const auto* found = std::find_if(std::begin(metric_names), std::end(metric_names),
                                     [&](const metric_name& m) { return m.name == name; });
    if (found == std::end(metric_names)) {
      errors.emplace_back(
          "metrics", "unknown metric '" + bounded(name) + "'; valid metrics: " + valid_metrics());
      break;
    }
    if (has(q.metrics, found->id)) {
      errors.emplace_back("metrics", "metric '" + std::string(name) + "' is listed twice");
      break;
    }
    q.metrics.push_back(found->id);
  }

  if (kind == view::breakdown) {
    const std::string name = parameter(params, "property");
    if (name.empty()) {
      errors.emplace_back("property", "is required; valid properties: " + valid_properties());
    } else if (auto p = parse_property(name)) {
      q.breakdown = std::move(*p);
    } else {
      errors.emplace_back("property", p.error());
    }
  }

  if (auto filters = parse_filters(parameter(params, "filters"))) {
    q.filters = std::move(*filters);
  } else {
    errors.emplace_back("filters", filters.error());
  }

  if (const auto step = parameter(params, "interval"); !step.empty() && kind == view::timeseries) {
    if (step == "minute" && q.realtime) {
      q.step = interval::minute;
    } else if (step == "minute") {
      errors.emplace_back("interval", "interval 'minute' needs period=realtime");
    } else if (q.realtime) {
      errors.emplace_back("interval", "period=realtime has interval 'minute' only");
    } else if (step == "hour") {
      q.step = interval::hour;
    } else if (step == "day" || step == "date") {
      q.step = interval::day;
    } else if (step == "week") {
      q.step = interval::week;
    } else if (step == "month") {
      q.step = interval::month;
    } else {
      errors.emplace_back("interval", "unknown interval '" + bounded(step) +
                                          "'; valid intervals: " + std::string(valid_intervals));
    }
  }

  if (const auto compare = parameter(params, "compare"); !compare.empty()) {
    if (compare == "previous_period") {
      q.compare = comparison::previous_period;
    } else if (compare == "previous_year") {
      q.compare = comparison::previous_year;
    } else {
      errors.emplace_back("compare", "unknown comparison '" + bounded(compare) +
                                         "'; valid comparisons: " + std::string(valid_comparisons));
    }
    if (q.realtime) {
      errors.emplace_back("compare", "period=realtime has no comparison");
    }
  }

  if (const auto limit = parameter(params, "limit"); !limit.empty()) {
    if (auto n = parse_count(limit, max_limit)) {
      q.limit = *n;
    } else {
      errors.emplace_back("limit", n.error());
    }
  }
  if (const auto page = parameter(params, "page"); !page.empty()) {
    if (auto n = parse_count(page, max_page)) {
      q.page = *n;
    } else {
      errors.emplace_back("page", n.error());
    }
  }

  if (errors.empty()) {
    check_metric_context(q, kind, errors);
  }
  if (!errors.empty()) {
    return unexpected(std::move(errors));
  }
  return q;
}

}  // namespace plumb::stats
