#pragma once
// Answers stats queries from PostgreSQL. Each query reads one of three sources:
//
// - rollups (docs/ROLLUPS.md): daily sums per dimension value, and hourly site totals. Used when
//   there is no filter, or every filter tests the dimension the query reads anyway (a breakdown's
//   own property, or the one filtered property of an aggregate or timeseries whose rows carry every
//   metric asked for); hourly timeseries only without filters. Cost: rows = days × values in the
//   range; a year of one value is 365 row reads, independent of traffic.
// - visit rows (docs/ROLLUPS.md, "Visit rows"): one row per visit of each settled day, for views
//   whose filters and breakdown are all visit properties (source and country; sources of one
//   country) that rollups cannot answer, grouped by day or longer. Days not settled yet are
//   grouped from their events in the same statement. Cost: one row per visit in the range.
// - raw events: every other filter combination and the realtime view. Scans the site's events of
//   the period (primary key range site_id, received_at) and tests filters on dictionary ids;
//   groups events by visit only for visit metrics and exit pages. Cost: proportional to the
//   site's events in the period.
//
// All sources count the same way: visit metrics (visits, bounce rate, duration, views per visit)
// count visits that started in the period; under a visit property (source, country, entry
// page...), as breakdown or filter, a visit's events count with the visit, in the period it
// started; otherwise events count in their own hour. Visitors are distinct daily hashes. Under a
// page filter, visit metrics count the visits that entered on the matching pages (Plausible's
// rule), event metrics the pages' own events; each part is read from the source its filters allow.
//
// Throws pqxx errors (statement_timeout included); queries are validated before (parse.hpp).

#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "plumb/stats/query.hpp"

namespace plumb::stats {

// One row of a result: a bucket label or breakdown value, and the values of query::metrics in
// order (integers are whole doubles; rates are percentages).
struct result_row {
  std::string key;
  std::vector<double> values;
};

// The totals of the period.
result_row aggregate(pqxx::transaction_base& tx, const query& q);

// One row per interval of the period, empty intervals included, labelled in the site's local time:
// "2026-03-29 14:00:00" (hour), "2026-03-29 14:05:00" (minute), "2026-03-29" (day; week: its
// Monday; month: its first day).
std::vector<result_row> timeseries(pqxx::transaction_base& tx, const query& q);

// One page of values of q.breakdown, most visitors first (exit pages: most exits), then by value.
std::vector<result_row> breakdown(pqxx::transaction_base& tx, const query& q);

// breakdown() and whether any value follows the page (a dashboard's "more").
struct breakdown_page {
  std::vector<result_row> rows;
  bool more = false;
};
breakdown_page breakdown_with_more(pqxx::transaction_base& tx, const query& q);

// `q` over the range its comparison names; q.compare must not be none.
query compared(const query& q);

// True when q's aggregate and breakdown read rollups (see above); exposed for tests and the
// benchmark. Its hourly timeseries read them only when it has no filter.
bool reads_rollups(const query& q);

// The site's local date at `now_ms`, and its first local day with data ("" when none).
std::string local_date(pqxx::transaction_base& tx, const std::string& timezone,
                       std::int64_t now_ms);
std::string first_day(pqxx::transaction_base& tx, std::int64_t site_id);

}  // namespace plumb::stats
