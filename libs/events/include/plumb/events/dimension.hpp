#pragma once
// The dimensions every report breaks down by. Their numbers are stored in PostgreSQL (rollups,
// events), so a value is never reused or renumbered; new dimensions take new numbers.
//
// Two kinds (DESIGN.md §4):
// - event dimensions describe one event and count it when it happens (page, hostname, event
//   name, property values, revenue);
// - visit dimensions describe a visit, with the values of its first event (source, campaign,
//   entry page) or of its visitor (country, region, city, browser, OS, device, screen): a visit and all its
//   pageviews count under the values its first event had, in the bucket where the visit started.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace plumb::events {

enum class dimension : std::int16_t {
  total = 0,  // the site as a whole; value ""
  // Event dimensions.
  page = 1,      // path (with "#fragment" for hash-routed sites)
  hostname = 2,  // page host without "www."
  event = 3,     // custom event name (never "pageview")
  prop = 4,      // custom property "key\x1fvalue"
  revenue = 5,   // custom event name "\x1f" ISO 4217 currency, for events carrying revenue
  dropped = 6,   // why the worker dropped an event: bot, no_user_agent, referrer_spam, bad_url
  // The site as a whole again, per local hour (hourly graphs); value "". Not a report dimension:
  // it exists because every other dimension's rows are per local day (rollup_bucket_ms).
  total_hourly = 7,
  // Visit dimensions.
  entry_page = 20,
  exit_page = 21,  // the visit's last page; exit rate = its visits / the page's pageviews
  source = 22,     // "Google", a referrer host, a utm_source, or "Direct / None"
  referrer = 23,   // referrer host; "" for direct traffic
  channel = 24,    // medium: search, social, email, paid, referral, unknown, (none)
  utm_source = 25,
  utm_medium = 26,
  utm_campaign = 27,
  utm_term = 28,
  utm_content = 29,
  country = 30,          // ISO 3166-1 alpha-2; "" when unknown
  browser = 31,          // uap family, "Other" when unknown
  browser_version = 32,  // family and major version: "Chrome 124"
  os = 33,
  os_version = 34,  // "Windows 10", "iOS 17.4"
  device = 35,      // desktop, mobile, tablet, or "" (from the user agent)
  screen = 36,      // screen size from the width: mobile, tablet, laptop, desktop, or ""
  region = 37,      // ISO 3166-2 subdivision ("DE-BY"); "" when unknown
  city = 38,        // city_value(): "Munich, DE-BY", "Mumbai, IN"; "" when unknown
};

// The visit dimensions carried in a visit's attribution, in their packing order (entry and exit
// pages are tracked separately, as they change within a visit). New dimensions go at the end:
// visit states packed before them still unpack, their missing values read as "".
inline constexpr std::array<dimension, 17> attribution_dimensions{
    dimension::source,       dimension::referrer,     dimension::channel,
    dimension::utm_source,   dimension::utm_medium,   dimension::utm_campaign,
    dimension::utm_term,     dimension::utm_content,  dimension::country,
    dimension::browser,      dimension::browser_version, dimension::os,
    dimension::os_version,   dimension::device,       dimension::screen,
    dimension::region,       dimension::city};

struct dimension_name {
  dimension id;
  std::string_view name;  // as used in APIs and reports
};

inline constexpr std::array<dimension_name, 27> dimension_names{{
    {dimension::total, "total"},
    {dimension::page, "page"},
    {dimension::hostname, "hostname"},
    {dimension::event, "event"},
    {dimension::prop, "prop"},
    {dimension::revenue, "revenue"},
    {dimension::dropped, "dropped"},
    {dimension::total_hourly, "total_hourly"},
    {dimension::entry_page, "entry_page"},
    {dimension::exit_page, "exit_page"},
    {dimension::source, "source"},
    {dimension::referrer, "referrer"},
    {dimension::channel, "channel"},
    {dimension::utm_source, "utm_source"},
    {dimension::utm_medium, "utm_medium"},
    {dimension::utm_campaign, "utm_campaign"},
    {dimension::utm_term, "utm_term"},
    {dimension::utm_content, "utm_content"},
    {dimension::country, "country"},
    {dimension::browser, "browser"},
    {dimension::browser_version, "browser_version"},
    {dimension::os, "os"},
    {dimension::os_version, "os_version"},
    {dimension::device, "device"},
    {dimension::screen, "screen"},
    {dimension::region, "region"},
    {dimension::city, "city"},
}};

constexpr std::string_view name_of(dimension d) {
  for (const auto& entry : dimension_names) {
    if (entry.id == d) {
      return entry.name;
    }
  }
  return {};
}

constexpr std::optional<dimension> dimension_named(std::string_view name) {
  for (const auto& entry : dimension_names) {
    if (entry.name == name) {
      return entry.id;
    }
  }
  return std::nullopt;
}

// The length of one rollup bucket of `d`, in ms of the site's local wall-clock time: a local day,
// except the hourly totals. Daily rows keep long ranges cheap to read (a year of a page is at most
// 365 rows, not 8,760); hourly graphs read total_hourly unfiltered and raw events otherwise.
constexpr std::int64_t rollup_bucket_ms(dimension d) {
  return d == dimension::total_hourly ? 3'600'000 : 86'400'000;
}

// Separates the parts of composite values ("key\x1fvalue"); never part of a stored value (the
// collector and enrichment drop control characters).
inline constexpr char value_separator = '\x1f';

// Screen size class of a screen width in CSS pixels (the breakpoints Plausible uses), or "" when
// the tracker sent no width.
constexpr std::string_view screen_class(std::optional<std::int32_t> width) {
  if (!width) {
    return "";
  }
  if (*width < 576) {
    return "mobile";
  }
  if (*width < 992) {
    return "tablet";
  }
  if (*width < 1440) {
    return "laptop";
  }
  return "desktop";
}

// The city dimension's value: a city name alone is ambiguous (Springfield is in dozens of US
// states, Paris in France and Texas), so it is qualified by the most precise code the database
// gave, the ISO 3166-2 region or else the ISO 3166-1 country: "Munich, DE-BY", "Mumbai, IN".
// The qualifier never contains ", ", so the last ", " splits a value even when the name has one.
// A city without a country is unknown (""), as is an empty name. Cities of one region (or, from
// databases without region codes, one country) sharing a name remain one value: the databases
// Plumb reads give no finer identity (GeoIP2's geoname ids are not in DB-IP's files).
inline std::string city_value(std::string_view country, std::string_view region,
                              std::string_view name) {
  if (country.empty() || name.empty()) {
    return {};
  }
  std::string out(name);
  out += ", ";
  out += region.empty() ? country : region;
  return out;
}

}  // namespace plumb::events
