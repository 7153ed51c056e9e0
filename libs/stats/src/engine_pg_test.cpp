// The stats engine against real PostgreSQL and datagen's ground truth: generated traffic is
// stored with the storage writer (tests/support/truth), then every metric × breakdown × a sample of
// filters and periods is compared with the truth computed below from the generated events alone.
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "plumb/datagen/generator.hpp"
#include "plumb/stats/engine.hpp"
#include "plumb/stats/parse.hpp"
#include "plumb/storage/event_writer.hpp"
#include "plumb/storage/migrations.hpp"
#include "plumb/storage/tenants.hpp"
#include "plumb/test_support/environment.hpp"
#include "sources.hpp"
#include "stored_truth.hpp"

using namespace plumb;
using events::dimension;

namespace {

constexpr std::int64_t quarter_hour_ms = 15 * 60 * 1000;
// 2026-03-20T00:00Z; 16 days, so Berlin's switch to summer time (2026-03-29) is inside.
constexpr std::int64_t start_ms = 1'773'964'800'000;
constexpr std::int64_t days = 16;
// hll's relative standard error at the default precision (1.04 / sqrt(2048)), times 4.
constexpr double sketch_tolerance = 4 * 0.023;

struct dataset {
  test_support::scoped_database db;
  std::map<std::string, std::int64_t> sites;  // timezone -> site id
  datagen::generated data;
  std::vector<test_support::stored_hit> hits;
  // Per site: the local date and hour label of every UTC quarter hour of the data (PostgreSQL's
  // time zone database; the engine's own code is not involved).
  std::map<std::int64_t, std::map<std::int64_t, std::pair<std::string, std::string>>> local;
  std::map<std::int64_t, std::string> zone_of;

  dataset() {
    pqxx::connection conn(db.dsn());
    storage::migrate(conn);
    datagen::options opts;
    {
      pqxx::work tx(conn);
      const auto owner = storage::create_account(tx, "owner@stats.example", "a long password");
      for (const std::string zone : {"UTC", "Asia/Kolkata", "Europe/Berlin"}) {
        const auto id =
            storage::create_site(tx, owner.id, "stats-" + std::to_string(sites.size()) + ".example",
                                 zone)
                .id;
        sites[zone] = id;
        zone_of[id] = zone;
        opts.sites.push_back({id, {}, 1});
        for (const auto& r : tx.exec_params(
                 "SELECT s, to_char(to_timestamp(s * 900) AT TIME ZONE $3, 'YYYY-MM-DD'),"
                 " to_char(to_timestamp(s * 900) AT TIME ZONE $3, 'YYYY-MM-DD HH24:00:00')"
                 " FROM generate_series($1::bigint, $2::bigint) s",
                 (start_ms - 86'400'000) / quarter_hour_ms,
                 (start_ms + (days + 1) * 86'400'000) / quarter_hour_ms, zone)) {
          local[id][r[0].as<std::int64_t>()] = {r[1].as<std::string>(), r[2].as<std::string>()};
        }
      }
      tx.commit();
    }
    opts.seed = 20260329;
    opts.start_ms = start_ms;
    opts.days = days;
    opts.target_events = 24'000;
    data = datagen::generate(opts);
    hits = test_support::index_hits(data);
    test_support::store_generated(conn, data);
  }

  const std::pair<std::string, std::string>& local_of(std::int64_t site, std::int64_t ms) const {
    return local.at(site).at(ms / quarter_hour_ms);
  }
};

dataset& shared_dataset() {
  static dataset d;
  return d;
}

// --- the truth: DESIGN.md §4 and engine.hpp's counting rules, from the generated events -------

struct truth_counts {
  std::set<std::uint64_t> visitors;
  std::int64_t pageviews = 0, events = 0, visits = 0, bounces = 0, duration_ms = 0,
               revenue_events = 0;
  double revenue = 0;
};

std::string value_of_visit(const datagen::visit_truth& v, dimension d) {
  if (d == dimension::entry_page)
    return v.entry_page;
  if (d == dimension::exit_page)
    return v.exit_page;
  return v.attribution.at(d);
}

// The event's value of an event property; nullopt when it has none (no such custom property,
// or a pageview under goals).
std::optional<std::string> value_of_hit(const test_support::stored_hit& h,
                                        const stats::property& p) {
  switch (p.dimension) {
    case dimension::page:
      return h.page;
    case dimension::hostname:
      return h.hostname;
    case dimension::event:
      return h.e->name == events::pageview_name ? std::nullopt : std::optional(h.e->name);
    case dimension::prop: {
      const auto it = h.props.find(p.prop_key);
      return it == h.props.end() ? std::nullopt : std::optional(it->second);
    }
    default:
      return std::nullopt;
  }
}

// The site's pageview goals in these tests: wildcards across '/', '**', an exact path, and '_'
// that must not act as a LIKE wildcard ("/docs_install" matches nothing).
const std::vector<std::string> page_goals{"/blog*", "/docs/**", "/pricing", "/*s", "/docs_install"};

// Plausible's wildcard semantics, written independently of the engine's LIKE translation: the
// whole path, '*' (or '**') matching any run of characters, '/' included.
bool glob(std::string_view pattern, std::string_view path) {
  if (pattern.empty()) {
    return path.empty();
  }
  if (pattern.front() == '*') {
    for (std::size_t i = 0; i <= path.size(); ++i) {
      if (glob(pattern.substr(1), path.substr(i))) {
        return true;
      }
    }
    return false;
  }
  return !path.empty() && pattern.front() == path.front() &&
         glob(pattern.substr(1), path.substr(1));
}

// Whether the goal `name` ("Signup", "Visit /blog*") is completed by the hit.
bool completes(const std::string& name, const test_support::stored_hit& h) {
  const bool pageview = h.e->name == events::pageview_name;
  if (const auto pattern = stats::page_goal_pattern(name)) {
    return pageview && glob(*pattern, h.page);
  }
  return !pageview && h.e->name == name;
}

bool matches(const stats::filter& f, const std::optional<std::string>& value) {
  bool any = false;
  for (const auto& alternative : f.values) {
    const bool contains =
        f.op == stats::filter_op::contains || f.op == stats::filter_op::does_not_contain;
    any = any || (value && (contains ? value->find(alternative) != std::string::npos
                                     : *value == alternative));
  }
  const bool negated =
      f.op == stats::filter_op::is_not || f.op == stats::filter_op::does_not_contain;
  return negated ? !any : any;
}

struct period_bounds {
  std::int64_t lo, hi;
};

std::map<std::string, truth_counts> truth(const dataset& d, const stats::query& q,
                                          stats::view kind) {
  const period_bounds b = [&] {
    pqxx::connection conn(d.db.dsn());
    pqxx::work tx(conn);
    const auto r = tx.exec_params1(
        "SELECT (extract(epoch FROM ($1::date)::timestamp AT TIME ZONE $3) * 1000)::bigint,"
        " (extract(epoch FROM ($2::date + 1)::timestamp AT TIME ZONE $3) * 1000)::bigint",
        q.range.first_day, q.range.last_day, q.timezone);
    return period_bounds{r[0].as<std::int64_t>(), r[1].as<std::int64_t>()};
  }();
  const bool attributed =
      (q.breakdown && stats::is_visit_dimension(q.breakdown->dimension)) ||
      std::any_of(q.filters.begin(), q.filters.end(), [](const stats::filter& f) {
        return stats::is_visit_dimension(f.target.dimension);
      });
  const auto visit_passes = [&](const datagen::visit_truth& v) {
    if (v.site_id != q.site_id || v.start_ms < b.lo || v.start_ms >= b.hi) {
      return false;
    }
    for (const auto& f : q.filters) {
      if (stats::is_visit_dimension(f.target.dimension) &&
          !matches(f, value_of_visit(v, f.target.dimension))) {
        return false;
      }
    }
    return true;
  };
  const auto hit_passes = [&](const test_support::stored_hit& h) {
    for (const auto& f : q.filters) {
      if (stats::is_visit_dimension(f.target.dimension)) {
        continue;
      }
      if (f.target.dimension == dimension::event &&
          (f.op == stats::filter_op::is || f.op == stats::filter_op::is_not)) {
        const bool any = std::any_of(f.values.begin(), f.values.end(),
                                     [&](const std::string& goal) { return completes(goal, h); });
        if (any == (f.op == stats::filter_op::is_not)) {
          return false;
        }
        continue;
      }
      // Goal filters test the event's name, pageviews included.
      const auto value = f.target.dimension == dimension::event ? std::optional(h.e->name)
                                                                : value_of_hit(h, f.target);
      if (!matches(f, value)) {
        return false;
      }
    }
    return true;
  };
  const auto label = [&](std::int64_t ms) {
    const auto& l = d.local_of(q.site_id, ms);
    if (q.step == stats::interval::hour) {
      return l.second;
    }
    if (q.step == stats::interval::month) {
      return l.first.substr(0, 8) + "01";
    }
    if (q.step == stats::interval::week) {
      using namespace std::chrono;
      const year_month_day day{
          year(std::stoi(l.first.substr(0, 4))),
          month(static_cast<unsigned>(std::stoi(l.first.substr(5, 2)))),
          std::chrono::day(static_cast<unsigned>(std::stoi(l.first.substr(8, 2))))};
      const sys_days monday = sys_days(day) - (weekday(sys_days(day)) - Monday);
      const year_month_day m{monday};
      char text[16];
      std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(m.year()),
                    static_cast<unsigned>(m.month()), static_cast<unsigned>(m.day()));
      return std::string(text);
    }
    return l.first;
  };
  std::map<std::string, truth_counts> out;
  std::set<std::size_t> matched_visits;
  for (const auto& h : d.hits) {
    const auto& e = *h.e;
    const auto& v = d.data.visits[h.visit];
    if (e.site_id != q.site_id || !hit_passes(h)) {
      continue;
    }
    matched_visits.insert(h.visit);
    if (attributed ? !visit_passes(v) : (e.received_ms < b.lo || e.received_ms >= b.hi)) {
      continue;
    }
    // A pageview completes every pageview goal it matches: one key each in goal breakdowns.
    std::vector<std::string> keys{""};
    if (kind == stats::view::timeseries) {
      keys = {label(attributed ? v.start_ms : e.received_ms)};
    } else if (kind == stats::view::breakdown && q.breakdown->dimension == dimension::event) {
      keys.clear();
      std::vector<std::string> goals;
      for (const auto& pattern : q.page_goals) {
        goals.push_back(std::string(stats::page_goal_prefix) + pattern);
      }
      goals.push_back(e.name);
      for (const auto& goal : goals) {
        // A goal breakdown lists the goals its goal filters name.
        const bool named = std::all_of(q.filters.begin(), q.filters.end(), [&](const auto& f) {
          return f.target.dimension != dimension::event || matches(f, goal);
        });
        if (completes(goal, h) && named) {
          keys.push_back(goal);
        }
      }
    } else if (kind == stats::view::breakdown) {
      const auto value = stats::is_visit_dimension(q.breakdown->dimension)
                             ? std::optional(value_of_visit(v, q.breakdown->dimension))
                             : value_of_hit(h, *q.breakdown);
      if (!value) {
        continue;
      }
      keys = {*value};
    }
    // Under a goal filter naming a pageview goal, its pageviews are completions (events) too.
    const bool page_goal_filtered =
        std::any_of(q.filters.begin(), q.filters.end(), [](const stats::filter& f) {
          return f.target.dimension == dimension::event && f.op == stats::filter_op::is &&
                 std::any_of(f.values.begin(), f.values.end(), [](const std::string& goal) {
                   return stats::page_goal_pattern(goal).has_value();
                 });
        });
    for (const auto& key : keys) {
      auto& c = out[key];
      c.visitors.insert(e.visitor_hash);
      const bool pageview = e.name == events::pageview_name;
      (pageview ? c.pageviews : c.events) += 1;
      if (pageview && (page_goal_filtered || stats::page_goal_pattern(key))) {
        c.events += 1;
      }
      if (h.has_revenue) {
        c.revenue += h.revenue;
        ++c.revenue_events;
      }
    }
  }
  for (std::size_t i = 0; i < d.data.visits.size(); ++i) {
    const auto& v = d.data.visits[i];
    if (!visit_passes(v) || !matched_visits.contains(i)) {
      continue;
    }
    std::string key;
    if (kind == stats::view::timeseries) {
      key = label(v.start_ms);
    } else if (kind == stats::view::breakdown) {
      if (!stats::is_visit_dimension(q.breakdown->dimension)) {
        continue;  // visit metrics are refused under event properties
      }
      key = value_of_visit(v, q.breakdown->dimension);
    }
    auto& c = out[key];
    ++c.visits;
    c.bounces += v.bounce ? 1 : 0;
    c.duration_ms += v.end_ms - v.start_ms;
  }
  return out;
}

double ratio(double a, double b) {
  return b > 0 ? a / b : 0;
}
double round_to(double v, int decimals) {
  const double s = std::pow(10.0, decimals);
  return std::round(v * s) / s;
}

double expected_value(stats::metric m, const truth_counts& c, double visitors_base, double exits) {
  using stats::metric;
  const auto visits = static_cast<double>(c.visits);
  switch (m) {
    case metric::visitors:
      return static_cast<double>(c.visitors.size());
    case metric::visits:
      return visits;
    case metric::pageviews:
      return static_cast<double>(c.pageviews);
    case metric::views_per_visit:
      return round_to(ratio(static_cast<double>(c.pageviews), visits), 2);
    case metric::bounce_rate:
      return std::round(100 * ratio(static_cast<double>(c.bounces), visits));
    case metric::visit_duration:
      return std::round(ratio(static_cast<double>(c.duration_ms), visits) / 1000);
    case metric::events:
    case metric::conversions:
      return static_cast<double>(c.events);
    case metric::conversion_rate:
      return round_to(100 * ratio(static_cast<double>(c.visitors.size()), visitors_base), 2);
    case metric::total_revenue:
      return round_to(c.revenue, 2);
    case metric::average_revenue:
      return round_to(ratio(c.revenue, static_cast<double>(c.revenue_events)), 2);
    case metric::exit_rate:
      return std::round(100 * ratio(exits, static_cast<double>(c.pageviews)));
  }
  return 0;
}

// Whether the engine's value may differ from the truth's by the sketch error.
bool within(stats::metric m, double got, double want, bool sketch) {
  if (got == want) {
    return true;
  }
  // Conversion rates divide by the visitors without goal filters, which may come from sketches.
  if (m != stats::metric::conversion_rate && (!sketch || m != stats::metric::visitors)) {
    return false;
  }
  return std::fabs(got - want) <= std::ceil(sketch_tolerance * std::max(want, 1.0));
}

stats::query make_query(const dataset& d, const std::string& zone, const std::string& params,
                        stats::view kind) {
  stats::parameters p;
  for (std::string_view rest = params; !rest.empty();) {
    const auto amp = rest.find('&');
    const auto pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    p.emplace_back(std::string(pair.substr(0, eq)), std::string(pair.substr(eq + 1)));
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
  }
  const auto id = d.sites.at(zone);
  auto q = stats::parse_query(p, kind,
                              {id, zone, "2026-04-05", "2026-03-20", start_ms + days * 86'400'000});
  if (!q) {
    FAIL("invalid test query " << params << ": " << q.error().front().second);
  }
  q->page_goals = page_goals;  // as the dashboard does for the site's configured goals
  return *q;
}

// Runs `params` on the site of `zone` and compares every metric of every row with the truth;
// returns whether the query read rollups.
bool check(const std::string& zone, const std::string& params, stats::view kind) {
  auto& d = shared_dataset();
  const auto q = make_query(d, zone, params, kind);
  pqxx::connection conn(d.db.dsn());
  pqxx::read_transaction tx(conn);
  const bool sketch = stats::reads_rollups(q);
  std::map<std::string, std::vector<double>> got;
  if (kind == stats::view::aggregate) {
    got[""] = stats::aggregate(tx, q).values;
  } else {
    for (const auto& row :
         kind == stats::view::timeseries ? stats::timeseries(tx, q) : stats::breakdown(tx, q)) {
      got[row.key] = row.values;
    }
  }
  auto want = truth(d, q, kind);
  // Under a page filter, visit metrics count the visits that entered on the filtered pages (as in
  // Plausible's Stats API): their truth is that of the same query filtering the entry page.
  const auto page_filter = [](const stats::filter& f) {
    return f.target.dimension == dimension::page;
  };
  std::map<std::string, truth_counts> want_visits;
  const bool entered = std::any_of(q.filters.begin(), q.filters.end(), page_filter);
  if (entered) {
    stats::query on_entry = q;
    for (auto& f : on_entry.filters) {
      if (page_filter(f)) {
        f.target = stats::property{dimension::entry_page, {}};
      }
    }
    want_visits = truth(d, on_entry, kind);
    for (const auto& [key, counts] : want_visits) {
      want[key];  // a row with visits alone is a row too
    }
  }
  const auto visit_metric = [](stats::metric m) {
    return m == stats::metric::visits || m == stats::metric::views_per_visit ||
           m == stats::metric::bounce_rate || m == stats::metric::visit_duration;
  };
  // Conversion rates divide by the visitors without goal filters; exit rates need exits.
  double visitors_base = 0;
  if (std::find(q.metrics.begin(), q.metrics.end(), stats::metric::conversion_rate) !=
      q.metrics.end()) {
    stats::query base = q;
    base.breakdown.reset();
    std::erase_if(base.filters,
                  [](const stats::filter& f) { return f.target.dimension == dimension::event; });
    const auto all = truth(d, base, stats::view::aggregate);
    visitors_base = all.empty() ? 0 : static_cast<double>(all.begin()->second.visitors.size());
  }
  std::map<std::string, double> exits;
  if (std::find(q.metrics.begin(), q.metrics.end(), stats::metric::exit_rate) != q.metrics.end()) {
    stats::query exit_query = q;
    exit_query.breakdown = stats::property{dimension::exit_page, {}};
    std::erase_if(exit_query.filters,
                  [](const stats::filter& f) { return f.target.dimension == dimension::page; });
    for (const auto& [page, c] : truth(d, exit_query, stats::view::breakdown)) {
      exits[page] = static_cast<double>(c.visits);
    }
  }
  INFO(zone << " " << params << (sketch ? " (rollups)" : " (raw events)"));
  for (const auto& [key, counts] : want) {
    if (kind == stats::view::timeseries && !got.contains(key)) {
      FAIL_CHECK("bucket " << key << " missing");
      continue;
    }
    const truth_counts& of_visits = entered ? want_visits[key] : counts;
    const bool empty = counts.visitors.empty() && of_visits.visits == 0;
    if (kind == stats::view::breakdown && empty) {
      continue;
    }
    REQUIRE(got.contains(key));
    for (std::size_t i = 0; i < q.metrics.size(); ++i) {
      const double w = expected_value(q.metrics[i], visit_metric(q.metrics[i]) ? of_visits : counts,
                                      visitors_base, exits[key]);
      const double g = got[key][i];
      if (!within(q.metrics[i], g, w, sketch)) {
        FAIL_CHECK("row '" << key << "' " << stats::name_of(q.metrics[i]) << ": expected " << w
                           << ", got " << g);
      }
    }
  }
  for (const auto& [key, values] : got) {
    if (!want.contains(key)) {
      // Timeseries show empty buckets; nothing else may appear from nowhere.
      CHECK((kind == stats::view::timeseries &&
             std::all_of(values.begin(), values.end(), [](double v) { return v == 0; })));
    }
  }
  return sketch;
}

const std::string visit_metrics =
    "visitors,visits,pageviews,views_per_visit,bounce_rate,visit_duration,events";
const std::string event_metrics = "visitors,pageviews,events";
const std::string goal_metrics =
    "visitors,events,conversions,conversion_rate,total_revenue,average_revenue";
const std::vector<std::string> periods{"period=custom&date=2026-03-20,2026-04-04",
                                       "period=day&date=2026-03-29", "period=7d&date=2026-04-02"};
const std::vector<std::string> zones{"UTC", "Asia/Kolkata", "Europe/Berlin"};

}  // namespace

TEST_CASE("aggregates and timeseries equal the truth in every timezone, DST day included") {
  for (const auto& zone : zones) {
    for (const auto& period : periods) {
      CHECK(check(zone, period + "&metrics=" + visit_metrics, stats::view::aggregate));
      CHECK(check(zone, period + "&metrics=" + visit_metrics, stats::view::timeseries));
    }
    CHECK(check(zone, "period=day&date=2026-03-29&interval=hour&metrics=" + visit_metrics,
                stats::view::timeseries));
    CHECK(check(zone,
                "period=custom&date=2026-03-20,2026-04-04&interval=week&metrics=visitors,visits",
                stats::view::timeseries));
    CHECK(check(zone, "period=month&date=2026-03-29&interval=month&metrics=pageviews,visits",
                stats::view::timeseries));
  }
}

TEST_CASE("the DST day has 23 hours of data in Berlin, 24 elsewhere") {
  auto& d = shared_dataset();
  pqxx::connection conn(d.db.dsn());
  pqxx::read_transaction tx(conn);
  const auto berlin =
      make_query(d, "Europe/Berlin", "period=day&date=2026-03-29&interval=hour&metrics=pageviews",
                 stats::view::timeseries);
  const auto rows = stats::timeseries(tx, berlin);
  CHECK(rows.size() == 24);  // 00:00 … 23:00 labels
  const auto skipped = std::find_if(rows.begin(), rows.end(),
                                    [](const auto& r) { return r.key == "2026-03-29 02:00:00"; });
  REQUIRE(skipped != rows.end());
  CHECK(skipped->values.front() == 0);  // 02:00–03:00 does not exist on that day
  const auto kolkata = make_query(d, "Asia/Kolkata", "period=day&date=2026-03-29&metrics=pageviews",
                                  stats::view::aggregate);
  CHECK(stats::timeseries(tx, kolkata).front().key == "2026-03-29 00:00:00");
}

TEST_CASE("every breakdown equals the truth") {
  const std::string period = "period=custom&date=2026-03-20,2026-04-04&limit=1000&";
  for (const auto& zone : zones) {
    for (const auto* property :
         {"visit:entry_page", "visit:source", "visit:referrer", "visit:channel", "visit:utm_source",
          "visit:utm_medium", "visit:utm_campaign", "visit:utm_term", "visit:utm_content",
          "visit:country", "visit:browser", "visit:browser_version", "visit:os", "visit:os_version",
          "visit:device", "visit:screen", "visit:region", "visit:city"}) {
      CHECK(check(zone, period + "property=" + property + "&metrics=" + visit_metrics,
                  stats::view::breakdown));
    }
    CHECK_FALSE(check(zone, period + "property=visit:exit_page&metrics=" + visit_metrics,
                      stats::view::breakdown));
    CHECK(check(zone, period + "property=event:page&metrics=visitors,pageviews,events,exit_rate",
                stats::view::breakdown));
    CHECK(check(zone, period + "property=event:hostname&metrics=" + event_metrics,
                stats::view::breakdown));
    CHECK(check(zone, period + "property=event:props:plan&metrics=" + event_metrics,
                stats::view::breakdown));
    CHECK(check(zone, period + "property=event:goal&metrics=" + goal_metrics,
                stats::view::breakdown));
  }
}

TEST_CASE(
    "filters equal the truth, from rollups where the filter allows and raw events otherwise") {
  struct sample {
    std::string filters;
    bool rollups;  // for the aggregate of `metrics`
    std::string metrics;
  };
  const std::vector<sample> samples{
      {"visit:source==Google", true, visit_metrics},
      {"visit:country!=DE", true, visit_metrics},
      {"visit:browser==Chrome|Firefox", true, visit_metrics},
      {"visit:entry_page~blog", true, visit_metrics},
      {"event:page==/pricing", true, event_metrics},
      // Event metrics from page rows, visit metrics from entry-page rows.
      {"event:page==/pricing", true, visit_metrics},
      {"event:page~docs", true, visit_metrics},
      {"event:page==/pricing;event:page!=/", true, visit_metrics},
      {"event:page!~blog", true, event_metrics},
      {"event:props:plan==pro", true, event_metrics},
      {"event:props:plan==pro", false, visit_metrics},
      {"visit:source==Google;event:page==/", false, visit_metrics},
      {"visit:source==Google;visit:device==mobile", false, visit_metrics},
      {"visit:exit_page==/docs", false, visit_metrics},
      {"event:goal==Purchase", true, goal_metrics},
      {"event:goal==Signup;visit:country==US", false, goal_metrics},
      {"visit:region==US-IL|DE-BY", true, visit_metrics},
      // One name in two states, and in two countries: each city value is one of them.
      {"visit:city==Springfield, US-IL", true, visit_metrics},
      {"visit:city==Paris, FR-IDF", true, visit_metrics},
      {"visit:city~Paris", true, visit_metrics},
      {"visit:city==", true, visit_metrics},
      {"visit:region==US-MA;visit:device==mobile", false, visit_metrics},
      {"event:goal==Signup;visit:city!=Munich, DE-BY", false, goal_metrics},
      {"event:goal==Visit /blog*", false, goal_metrics},
      {"event:goal==Visit /docs/**|Signup", false, goal_metrics},
      {"event:goal!=Visit /*s", false, event_metrics},
      {"event:goal==Visit /pricing;visit:source==Google", false, goal_metrics},
  };
  for (const auto& zone : zones) {
    for (const auto& s : samples) {
      for (const auto& period : {periods[0], periods[1]}) {
        const std::string base = period + "&limit=1000&filters=" + s.filters;
        CHECK(check(zone, base + "&metrics=" + s.metrics, stats::view::aggregate) == s.rollups);
        CHECK(check(zone,
                    base + "&metrics=visitors,pageviews,visits,bounce_rate&property=visit:source",
                    stats::view::breakdown) == (s.filters == "visit:source==Google"));
        check(zone, base + "&metrics=" + event_metrics + "&property=event:page",
              stats::view::breakdown);
        check(zone, base + "&metrics=visitors,visits,bounce_rate", stats::view::timeseries);
      }
    }
  }
}

TEST_CASE("views on several visit properties read visit rows of built days, events elsewhere") {
  auto& d = shared_dataset();
  // Every row of every view, as text.
  const auto answer = [&](pqxx::transaction_base& tx, const std::string& zone) {
    std::vector<std::string> out;
    const auto add = [&](const std::string& key, const std::vector<double>& values) {
      std::string line = key;
      for (const auto v : values) {
        line += " " + std::to_string(v);
      }
      out.push_back(line);
    };
    const std::string base = periods[0] + "&limit=1000&metrics=" + visit_metrics +
                             "&filters=visit:source==Google|Bing;visit:device==";
    add("",
        stats::aggregate(tx, make_query(d, zone, base + "desktop", stats::view::aggregate)).values);
    for (const auto& row :
         stats::timeseries(tx, make_query(d, zone, base + "mobile", stats::view::timeseries))) {
      add(row.key, row.values);
    }
    for (const auto& property : {"visit:country", "visit:exit_page", "visit:entry_page"}) {
      for (const auto& row :
           stats::breakdown(tx, make_query(d, zone, base + "desktop&property=" + property,
                                           stats::view::breakdown))) {
        add(row.key, row.values);
      }
    }
    return out;
  };
  pqxx::connection conn(d.db.dsn());
  for (const auto& zone : zones) {
    INFO(zone);
    const std::string base = periods[0] + "&limit=1000&metrics=" + visit_metrics +
                             "&filters=visit:source==Google|Bing;visit:device==desktop";
    CHECK_FALSE(check(zone, base, stats::view::aggregate));
    CHECK_FALSE(check(zone, base, stats::view::timeseries));
    for (const auto& property : {"visit:country", "visit:exit_page", "visit:entry_page"}) {
      CHECK_FALSE(check(zone, base + "&property=" + property, stats::view::breakdown));
    }
    const auto site = d.sites.at(zone);
    pqxx::work tx(conn);
    const auto as_stored = answer(tx, zone);
    REQUIRE(as_stored.size() > 20);
    // Built days are read from the visit rows: changing those changes the answer...
    tx.exec_params("UPDATE visits SET pageviews = pageviews + 1 WHERE site_id = $1", site);
    CHECK(answer(tx, zone) != as_stored);
    // ...and days not built are grouped from their events, to the same answer as the rows.
    tx.exec_params(
        "DELETE FROM visit_days WHERE site_id = $1 AND extract(day FROM day)::int % 3 = 0", site);
    tx.exec_params("UPDATE visits SET pageviews = pageviews - 1 WHERE site_id = $1", site);
    CHECK(answer(tx, zone) == as_stored);
    tx.exec_params("DELETE FROM visit_days WHERE site_id = $1", site);
    tx.exec_params("UPDATE visits SET pageviews = pageviews + 1 WHERE site_id = $1", site);
    CHECK(answer(tx, zone) == as_stored);
  }
}

TEST_CASE("filter values are data, never SQL") {
  auto& d = shared_dataset();
  pqxx::connection conn(d.db.dsn());
  pqxx::read_transaction tx(conn);
  for (const std::string payload :
       {"/' OR '1'='1", "/\") DROP TABLE events --", "%", "_", "\\", "{\"a\",\"b\"}"}) {
    for (const std::string op : {"==", "~"}) {
      const auto q = make_query(
          d, "UTC",
          "period=custom&date=2026-03-20,2026-04-04&metrics=visitors,pageviews&filters=event:page" +
              op + payload,
          stats::view::aggregate);
      const auto r = stats::aggregate(tx, q);
      CHECK(r.values == std::vector<double>{0, 0});
    }
  }
  CHECK(tx.exec1("SELECT count(*) FROM events")[0].as<std::int64_t>() ==
        static_cast<std::int64_t>(d.hits.size()));
}

// Short pages of a long range are found from the heaviest rollup rows without summing every row
// (rollup_reader.cpp, read_values_pruned): each must be exactly its slice of the whole breakdown,
// whose every row the test above checks against the truth.
TEST_CASE("breakdown pages continue each other and equal slices of the whole breakdown") {
  auto& d = shared_dataset();
  pqxx::connection conn(d.db.dsn());
  pqxx::read_transaction tx(conn);
  for (const std::string property : {"visit:browser_version", "event:page", "visit:exit_page",
                                     "visit:source", "event:props:plan", "visit:entry_page"}) {
    for (const std::string filters : {"", "&filters=visit:country!=DE;event:page~o"}) {
      const bool visit_property = property.starts_with("visit:");
      const std::string base = "period=custom&date=2026-03-20,2026-04-04&metrics=visitors," +
                               std::string(visit_property ? "visits," : "") +
                               "pageviews&property=" + property + filters;
      const auto all =
          stats::breakdown(tx, make_query(d, "UTC", base + "&limit=1000", stats::view::breakdown));
      REQUIRE(all.size() >= 2);
      for (std::size_t i = 1; i < all.size(); ++i) {
        CHECK(all[i - 1].values[property == "visit:exit_page" ? 1 : 0] >=
              all[i].values[property == "visit:exit_page" ? 1 : 0]);
      }
      for (const std::size_t limit : {std::size_t{1}, std::size_t{2}, std::size_t{5}}) {
        for (std::size_t page = 1; page <= 3; ++page) {
          INFO(base << " limit " << limit << " page " << page);
          const auto got = stats::breakdown(
              tx,
              make_query(d, "UTC",
                         base + "&limit=" + std::to_string(limit) + "&page=" + std::to_string(page),
                         stats::view::breakdown));
          const auto from = std::min(all.size(), (page - 1) * limit);
          const auto to = std::min(all.size(), page * limit);
          REQUIRE(got.size() == to - from);
          for (std::size_t i = 0; i < got.size(); ++i) {
            CHECK(got[i].key == all[from + i].key);
            CHECK(got[i].values == all[from + i].values);
          }
        }
      }
    }
  }
}

// A site whose pages are 8 busy ones and a long uniform tail (datagen's tail_pages), so the last
// row of a 9-row page is the best of thousands of tail pages, with a few visitors, as on the
// benchmark's largest site. No heavy row sets it apart: the page is found by the values' totals
// (rollup_reader.cpp), and must equal what summing every row of the range gives. A year of
// history: the year is bounded by all-time totals, a month of it (all-time totals are far above
// what a tail page did in a month) by the totals since the range's first month, including a month
// whose last days are not settled yet and one that ends before the history does.
TEST_CASE("a page ending in a long uniform tail is found by bounds and equals summing every row") {
  test_support::scoped_database db;
  pqxx::connection conn(db.dsn());
  storage::migrate(conn);
  constexpr std::int64_t jan_1 = 1'767'225'600'000;  // 2026-01-01T00:00Z
  std::int64_t site = 0;
  {
    pqxx::work tx(conn);
    const auto owner = storage::create_account(tx, "owner@tail.example", "a long password");
    site = storage::create_site(tx, owner.id, "tail.example", "UTC").id;
    tx.commit();
  }
  datagen::options opts;
  opts.sites.push_back({site, {}, 1});
  opts.seed = 5;
  opts.start_ms = jan_1;
  opts.days = 365;
  opts.target_events = 120'000;
  opts.tail_pages = 30'000;
  test_support::store_generated(conn, datagen::generate(opts));

  pqxx::read_transaction tx(conn);
  for (const std::string dates :
       {"2026-01-01,2026-12-31", "2026-12-02,2026-12-31", "2026-11-15,2026-12-14"}) {
    for (const std::string page : {"1", "2"}) {
      INFO(dates << " page " << page);
      auto q = stats::parse_query(
          {{"period", "custom"},
           {"date", dates},
           {"metrics", "visitors,pageviews"},
           {"property", "event:page"},
           {"limit", "9"},
           {"page", page}},
          stats::view::breakdown,
          {site, "UTC", "2027-01-01", "2026-01-01", jan_1 + 366 * std::int64_t{86'400'000}});
      REQUIRE(q);
      // Every row of the range summed per value, best first (rollup_reader.cpp's order).
      std::vector<stats::result_row> summed;
      for (const auto& row : tx.exec_params(
               "SELECT v.value, round(hll_cardinality(hll_union_agg(r.visitors)))::bigint AS n,"
               " sum(r.pageviews) FROM (SELECT site_id, dimension, bucket, value_id, pageviews,"
               "  visitors FROM rollups UNION ALL SELECT site_id, dimension, bucket, value_id,"
               "  pageviews, visitors FROM rollups_settled) r"
               " JOIN dimension_values v ON v.site_id = r.site_id AND v.id = r.value_id"
               " WHERE r.site_id = $1 AND r.dimension = $2 AND r.bucket >= $3::date"
               " AND r.bucket < $4::date + 1"
               " GROUP BY r.value_id, v.value ORDER BY n DESC, r.value_id LIMIT 9 OFFSET $5",
               site, static_cast<int>(dimension::page), dates.substr(0, 10), dates.substr(11),
               (std::stoi(page) - 1) * 9)) {
        summed.push_back({row[0].as<std::string>(), {row[1].as<double>(), row[2].as<double>()}});
      }
      REQUIRE(summed.size() == 9);
      CHECK(summed.back().key.starts_with("/p/"));
      CHECK(summed.back().values[0] <= 10);
      const auto got = stats::breakdown(tx, *q);
      REQUIRE(got.size() == summed.size());
      for (std::size_t i = 0; i < got.size(); ++i) {
        CHECK(got[i].key == summed[i].key);
        CHECK(got[i].values == summed[i].values);
      }
      // And the bounds are what answered, also when asked whether a value follows the page (a
      // dashboard's "more"), which they tell without ranking the next value.
      CHECK(stats::detail::read_rollup_page_pruned(
          tx, {.q = &*q, .by = stats::detail::grouping::value}));
      bool more = false;
      CHECK(stats::detail::read_rollup_page_pruned(
          tx, {.q = &*q, .by = stats::detail::grouping::value, .more = &more}));
      CHECK(more);
      const auto with_more = stats::breakdown_with_more(tx, *q);
      CHECK(with_more.more);
      REQUIRE(with_more.rows.size() == summed.size());
      for (std::size_t i = 0; i < summed.size(); ++i) {
        CHECK(with_more.rows[i].key == summed[i].key);
        CHECK(with_more.rows[i].values == summed[i].values);
      }
    }
  }
  // A page that ends with the breakdown's last value has nothing after it.
  for (const auto& [limit, more] : {std::pair{"2", true}, std::pair{"3", false}}) {
    INFO("limit " << limit);
    auto q = stats::parse_query(
        {{"period", "custom"},
         {"date", "2026-12-02,2026-12-31"},
         {"metrics", "visitors"},
         {"property", "event:page"},
         {"filters", "event:page==/|/pricing|/docs"},
         {"limit", limit}},
        stats::view::breakdown,
        {site, "UTC", "2027-01-01", "2026-01-01", jan_1 + 366 * std::int64_t{86'400'000}});
    REQUIRE(q);
    const auto page = stats::breakdown_with_more(tx, *q);
    CHECK(page.rows.size() == std::stoul(limit));
    CHECK(page.more == more);
  }
}

TEST_CASE("pageview goals count visitors who viewed a matching page, unfiltered and filtered") {
  const std::string period = "period=custom&date=2026-03-20,2026-04-04&property=event:goal&";
  for (const auto& zone : zones) {
    // Unfiltered: page rows of the rollups whose value matches.
    CHECK(check(zone, period + "metrics=" + goal_metrics, stats::view::breakdown));
    // Filtered: raw events, one goal at a time.
    CHECK_FALSE(check(zone, period + "filters=visit:country==US&metrics=" + goal_metrics,
                      stats::view::breakdown));
    CHECK_FALSE(check(zone,
                      period + "filters=event:goal==Visit /blog*|Purchase&metrics=" + goal_metrics,
                      stats::view::breakdown));
  }
  auto& d = shared_dataset();
  pqxx::connection conn(d.db.dsn());
  pqxx::read_transaction tx(conn);
  const auto rows = stats::breakdown(
      tx, make_query(d, "UTC", period + "metrics=visitors&limit=100", stats::view::breakdown));
  std::set<std::string> keys;
  for (const auto& row : rows) {
    keys.insert(row.key);
  }
  // Every pattern with pageviews is listed; "/docs_install" ('_' is no wildcard) is not.
  CHECK(keys == std::set<std::string>{"Visit /blog*", "Visit /docs/**", "Visit /pricing",
                                      "Visit /*s", "Signup", "Purchase", "Download"});
  // Pages of the merged list continue each other.
  const auto second = stats::breakdown(
      tx, make_query(d, "UTC", period + "metrics=visitors&limit=3&page=2", stats::view::breakdown));
  REQUIRE(second.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(second[i].key == rows[3 + i].key);
  }
}
