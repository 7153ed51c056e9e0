#include "plumb/stats/engine.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "plumb/stats/period.hpp"
#include "sources.hpp"

namespace plumb::stats {
namespace {

using detail::grouping;
using detail::tallies;
using events::dimension;

bool needs_visit_tallies(metric m) {
  return m == metric::visits || m == metric::views_per_visit || m == metric::bounce_rate ||
         m == metric::visit_duration;
}
bool needs_revenue(metric m) {
  return m == metric::total_revenue || m == metric::average_revenue;
}

// Metrics the rows of one dimension can answer (docs/ROLLUPS.md, "Metrics from rows").
bool rollup_rows_carry(dimension d, metric m) {
  switch (d) {
    case dimension::total:
      return m != metric::exit_rate;
    case dimension::page:
      return m == metric::visitors || m == metric::pageviews || m == metric::events ||
             m == metric::exit_rate;
    case dimension::hostname:
    case dimension::prop:
      return m == metric::visitors || m == metric::pageviews || m == metric::events;
    case dimension::event:
      return m == metric::visitors || m == metric::events || m == metric::conversions ||
             m == metric::conversion_rate || needs_revenue(m);
    case dimension::exit_page:  // exit rows keep no visitor sketch
      return m != metric::visitors && m != metric::exit_rate && m != metric::conversion_rate &&
             m != metric::conversions && !needs_revenue(m);
    default:
      return is_visit_dimension(d) && m != metric::exit_rate && m != metric::conversion_rate &&
             m != metric::conversions && !needs_revenue(m);
  }
}

// Whether one read of `q` can come from rollups (engine.hpp).
bool reads_rollups_alone(const query& q) {
  if (q.realtime || detail::has_page_goal_filter(q)) {
    return false;
  }
  if (q.filters.empty()) {
    const dimension d = q.breakdown ? q.breakdown->dimension : dimension::total;
    return std::all_of(q.metrics.begin(), q.metrics.end(), [&](metric m) {
      return rollup_rows_carry(d, m) || m == metric::conversion_rate;
    });
  }
  const property& target = q.filters.front().target;
  if (!std::all_of(q.filters.begin(), q.filters.end(),
                   [&](const filter& f) { return f.target == target; })) {
    return false;
  }
  if (q.breakdown) {
    return *q.breakdown == target && std::all_of(q.metrics.begin(), q.metrics.end(), [&](metric m) {
      return rollup_rows_carry(target.dimension, m);
    });
  }
  return std::all_of(q.metrics.begin(), q.metrics.end(),
                     [&](metric m) { return rollup_rows_carry(target.dimension, m); });
}

// Visit metrics under a page filter count the visits that entered on the filtered pages, as
// Plausible's Stats API does: the bounce rate of /pricing is that of the visits landing on it (a
// visit that only passed through /pricing bounced elsewhere, if at all). Event metrics keep
// counting the pages' own events. Such a query reads twice: `events` for the other metrics (and for
// the visitors that order a breakdown), `visits` for the visit metrics, its page filters on the
// entry page. Otherwise `visits` is empty and `events` is the query itself.
struct split_query {
  std::optional<query> events;
  std::optional<query> visits;

  explicit split_query(const query& q) : events(q) {
    const bool page_filter = std::any_of(q.filters.begin(), q.filters.end(), [](const filter& f) {
      return f.target.dimension == dimension::page;
    });
    if (!page_filter || std::none_of(q.metrics.begin(), q.metrics.end(), needs_visit_tallies)) {
      return;
    }
    visits = q;
    for (auto& f : visits->filters) {
      if (f.target.dimension == dimension::page) {
        f.target = property{dimension::entry_page, {}};
      }
    }
    std::erase_if(visits->metrics, [](metric m) { return !needs_visit_tallies(m); });
    std::erase_if(events->metrics, needs_visit_tallies);
    if (events->metrics.empty()) {
      if (q.breakdown) {
        events->metrics = {metric::visitors};
      } else {
        events.reset();
      }
    }
  }
};

double rounded(double value, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

double ratio(double part, double whole) {
  return whole > 0 ? part / whole : 0.0;
}

// A group's counts: of its events, and of the visits that visit metrics count. The two differ
// only under a page filter (split_query).
struct counted {
  std::string key;
  tallies events;
  tallies visits;
};

// The value of `m` from a group's counts. `visitors_base`: the visitors conversion rates divide by;
// `exits`: the exits of the group's page.
double value_of(metric m, const counted& c, std::int64_t visitors_base, std::int64_t exits) {
  const tallies& t = needs_visit_tallies(m) ? c.visits : c.events;
  const auto visits = static_cast<double>(t.visits);
  switch (m) {
    case metric::visitors:
      return static_cast<double>(t.visitors);
    case metric::visits:
      return visits;
    case metric::pageviews:
      return static_cast<double>(t.pageviews);
    case metric::views_per_visit:
      return rounded(ratio(static_cast<double>(t.pageviews), visits), 2);
    case metric::bounce_rate:
      return std::round(100.0 * ratio(static_cast<double>(t.bounces), visits));
    case metric::visit_duration:
      return std::round(ratio(static_cast<double>(t.duration_ms), visits) / 1000.0);
    case metric::events:
    case metric::conversions:
      return static_cast<double>(t.events);
    case metric::conversion_rate:
      return rounded(
          100.0 * ratio(static_cast<double>(t.visitors), static_cast<double>(visitors_base)), 2);
    case metric::total_revenue:
      return rounded(t.revenue, 2);
    case metric::average_revenue:
      return rounded(ratio(t.revenue, static_cast<double>(t.revenue_events)), 2);
    case metric::exit_rate:
      return std::round(100.0 *
                        ratio(static_cast<double>(exits), static_cast<double>(t.pageviews)));
  }
  return 0;
}

detail::request plan(const query& q, grouping by) {
  detail::request r;
  r.q = &q;
  r.by = by;
  for (const auto m : q.metrics) {
    // Views per visit divides pageviews (an event tally) by visits.
    r.event_tallies = r.event_tallies || m == metric::views_per_visit;
    r.visit_tallies = r.visit_tallies || needs_visit_tallies(m);
    r.revenue_tallies = r.revenue_tallies || needs_revenue(m);
    r.event_tallies = r.event_tallies || (!needs_visit_tallies(m) && !needs_revenue(m));
  }
  r.sort_by_visits = q.breakdown && q.breakdown->dimension == dimension::exit_page;
  if (r.sort_by_visits) {
    r.visit_tallies = true;
  }
  return r;
}

// The groups of one read of `q`, from rollups or raw events. `more`: see detail::request::more.
std::vector<detail::group> read_source(pqxx::transaction_base& tx, const query& q, grouping by,
                                       bool* more = nullptr) {
  auto r = plan(q, by);
  r.more = more;
  // Rollup rows per hour exist for the site total only (events::rollup_bucket_ms); revenue rows
  // are per day.
  const bool hourly = by == grouping::bucket && q.step < interval::day;
  const bool rollups =
      reads_rollups_alone(q) && !(hourly && (!q.filters.empty() || r.revenue_tallies));
  if (detail::lists_page_goals(q, by)) {
    return detail::read_goal_breakdown(tx, r, rollups);
  }
  auto groups = rollups                        ? detail::read_rollups(tx, r)
                : detail::visit_rows_answer(r) ? detail::read_visit_rows(tx, r)
                                               : detail::read_events(tx, r);
  detail::count_goal_pageviews(q, groups);
  return groups;
}

// `q` over the values (keys) of `page`'s groups alone, all on one page.
template <typename Groups>
query restricted_to(const query& q, const Groups& page) {
  query only = q;
  filter values{*q.breakdown, filter_op::is, {}};
  for (const auto& g : page) {
    values.values.push_back(g.key);
  }
  only.filters.push_back(std::move(values));
  only.page = 1;
  only.limit = page.size();
  return only;
}

// `more` is passed on to a query read once (a query split in two reads raw events for its
// breakdowns, whose page is not bounded).
std::vector<counted> read(pqxx::transaction_base& tx, const query& q, grouping by,
                          bool* more = nullptr) {
  const auto s = split_query(q);
  std::vector<counted> out;
  if (!s.visits) {
    for (auto& g : read_source(tx, q, by, more)) {
      out.push_back({std::move(g.key), g.counts, g.counts});
    }
    return out;
  }
  if (by != grouping::value) {
    std::map<std::string, counted> by_key;  // buckets in order
    if (s.events) {
      for (const auto& g : read_source(tx, *s.events, by)) {
        by_key[g.key].events = g.counts;
      }
    }
    for (const auto& g : read_source(tx, *s.visits, by)) {
      by_key[g.key].visits = g.counts;
    }
    for (auto& [key, c] : by_key) {
      c.key = key;
      out.push_back(std::move(c));
    }
    return out;
  }
  // The read that orders the breakdown (exits for exit pages, else visitors) gives its page; the
  // other counts those values alone.
  const bool by_visits = q.breakdown->dimension == dimension::exit_page;
  const auto page = read_source(tx, by_visits ? *s.visits : *s.events, by);
  if (page.empty()) {
    return out;
  }
  std::map<std::string, tallies> other;
  for (const auto& g :
       read_source(tx, restricted_to(by_visits ? *s.events : *s.visits, page), by)) {
    other[g.key] = g.counts;
  }
  for (const auto& g : page) {
    counted c{g.key, g.counts, other[g.key]};
    if (by_visits) {
      std::swap(c.events, c.visits);
    }
    out.push_back(std::move(c));
  }
  return out;
}

bool wants(const query& q, metric m) {
  return std::find(q.metrics.begin(), q.metrics.end(), m) != q.metrics.end();
}

// The query conversion rates divide by: the same visitors without the goal filters.
query without_goals(const query& q) {
  query base = q;
  base.breakdown.reset();
  base.metrics = {metric::visitors};
  std::erase_if(base.filters,
                [](const filter& f) { return f.target.dimension == dimension::event; });
  return base;
}

}  // namespace

bool reads_rollups(const query& q) {
  const auto s = split_query(q);
  if (!s.visits) {
    return reads_rollups_alone(q);
  }
  return (!s.events || reads_rollups_alone(*s.events)) && reads_rollups_alone(*s.visits);
}

result_row aggregate(pqxx::transaction_base& tx, const query& q) {
  const auto groups = read(tx, q, grouping::none);
  const counted c = groups.empty() ? counted{} : groups.front();
  const std::int64_t base =
      wants(q, metric::conversion_rate)
          ? static_cast<std::int64_t>(aggregate(tx, without_goals(q)).values.front())
          : 0;
  result_row out;
  for (const auto m : q.metrics) {
    out.values.push_back(value_of(m, c, base, 0));
  }
  return out;
}

std::vector<result_row> timeseries(pqxx::transaction_base& tx, const query& q) {
  std::map<std::string, counted> by_bucket;
  for (auto& c : read(tx, q, grouping::bucket)) {
    by_bucket[c.key] = std::move(c);
  }
  std::map<std::string, std::int64_t> bases;
  if (wants(q, metric::conversion_rate)) {
    for (const auto& row : timeseries(tx, without_goals(q))) {
      bases[row.key] = static_cast<std::int64_t>(row.values.front());
    }
  }
  // Every label of the period, in the site's local time, so empty intervals show as zeros.
  detail::parameters p;
  std::string sql;
  const std::string fmt = std::string("'") + detail::label_format(q.step) + "'";
  if (q.realtime) {
    const std::string now = p.add(q.now_ms);
    const std::string tz = p.add(q.timezone);
    sql = "SELECT to_char(g, " + fmt +
          ") FROM generate_series("
          "date_trunc('minute', (to_timestamp(" +
          now + "::bigint / 1000.0) - interval '29 minutes') AT TIME ZONE " + tz +
          "),"
          " date_trunc('minute', to_timestamp(" +
          now + "::bigint / 1000.0) AT TIME ZONE " + tz + "), interval '1 minute') g";
  } else {
    const std::string unit = std::string("'") + detail::trunc_unit(q.step) + "'";
    sql = "SELECT to_char(g, " + fmt + ") FROM generate_series(date_trunc(" + unit + ", " +
          p.add(q.range.first_day) + "::date::timestamp), " + p.add(q.range.last_day) +
          "::date + interval '1 day' - interval '1 second', interval '1 " +
          detail::trunc_unit(q.step) + "') g";
  }
  std::vector<result_row> out;
  for (const auto& label : p.exec(tx, sql)) {
    result_row row;
    row.key = label[0].as<std::string>();
    const auto it = by_bucket.find(row.key);
    const counted c = it == by_bucket.end() ? counted{} : it->second;
    for (const auto m : q.metrics) {
      row.values.push_back(value_of(m, c, bases[row.key], 0));
    }
    out.push_back(std::move(row));
  }
  return out;
}

namespace {

// Breakdown rows from the page's groups.
std::vector<result_row> breakdown_rows(pqxx::transaction_base& tx, const query& q,
                                       const std::vector<counted>& groups) {
  const std::int64_t base =
      wants(q, metric::conversion_rate)
          ? static_cast<std::int64_t>(aggregate(tx, without_goals(q)).values.front())
          : 0;
  // Exit rates: the exits of this page's values, from the exit pages of the same visits.
  std::map<std::string, std::int64_t> exits;
  if (wants(q, metric::exit_rate) && !groups.empty()) {
    query exits_of = q;
    exits_of.breakdown = property{dimension::exit_page, {}};
    exits_of.metrics = {metric::visits};
    std::erase_if(exits_of.filters,
                  [](const filter& f) { return f.target.dimension == dimension::page; });
    for (const auto& row : breakdown(tx, restricted_to(exits_of, groups))) {
      exits[row.key] = static_cast<std::int64_t>(row.values.front());
    }
  }
  std::vector<result_row> out;
  for (const auto& g : groups) {
    result_row row;
    row.key = g.key;
    for (const auto m : q.metrics) {
      row.values.push_back(value_of(m, g, base, exits[g.key]));
    }
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace

std::vector<result_row> breakdown(pqxx::transaction_base& tx, const query& q) {
  return breakdown_rows(tx, q, read(tx, q, grouping::value));
}

breakdown_page breakdown_with_more(pqxx::transaction_base& tx, const query& q) {
  if (reads_rollups_alone(q) && !detail::lists_page_goals(q, grouping::value)) {
    // The rollup reader tells whether a value follows without ranking it, which a page bounded
    // by totals could not do for the row after it (rollup_reader.cpp).
    bool more = false;
    auto rows = breakdown_rows(tx, q, read(tx, q, grouping::value, &more));
    return {std::move(rows), more};
  }
  // The rows up to this page plus one: that one tells whether there is a next page.
  query head = q;
  head.limit = q.limit * q.page + 1;
  head.page = 1;
  auto rows = breakdown(tx, head);
  const bool more = rows.size() > q.limit * q.page;
  rows.erase(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(
                                              std::min(rows.size(), q.limit * (q.page - 1))));
  rows.resize(std::min(rows.size(), q.limit));
  return {std::move(rows), more};
}

query compared(const query& q) {
  query other = q;
  other.compare = comparison::none;
  other.range =
      q.compare == comparison::previous_year ? previous_year(q.range) : previous_period(q.range);
  return other;
}

std::string local_date(pqxx::transaction_base& tx, const std::string& timezone,
                       std::int64_t now_ms) {
  return tx
      .exec_params1(
          "SELECT to_char((to_timestamp($1::bigint / 1000.0) AT TIME ZONE $2)::date, 'YYYY-MM-DD')",
          now_ms, timezone)[0]
      .as<std::string>();
}

std::string first_day(pqxx::transaction_base& tx, std::int64_t site_id) {
  // The earliest total row: an index range read on each rollup table's primary key.
  const auto r = tx.exec_params(
      "SELECT to_char(least((SELECT min(bucket) FROM rollups WHERE site_id = $1 AND dimension = 0),"
      " (SELECT min(bucket) FROM rollups_settled WHERE site_id = $1 AND dimension = 0)),"
      " 'YYYY-MM-DD')",
      site_id);
  return r.empty() || r[0][0].is_null() ? std::string() : r[0][0].as<std::string>();
}

}  // namespace plumb::stats
