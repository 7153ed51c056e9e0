// The visit-row source: one row per visit (migration 0012, docs/ROLLUPS.md "Visit rows") for the
// views rollups cannot answer whose filters and breakdown are all visit properties: two filters
// (source and country), or a breakdown under a filter on another property. The raw-event reader
// answers those by grouping the period's events by visit; visit rows hold that grouping, built
// when a day settles, so a year of a busy site is one row per visit instead of a group-by over its
// events. Days not built (recent days, days with late events, days before a zone change) are
// grouped from their events in the same statement, by the same function that builds the rows.
#include <algorithm>
#include <set>

#include "plumb/events/event.hpp"
#include "sources.hpp"

namespace plumb::stats::detail {
namespace {

using events::dimension;

// The column of visits holding a visit dimension's dictionary id.
std::string visit_column(dimension d) {
  return std::string(events::name_of(d)) + "_id";
}

// The days of the period with events that visit rows cannot answer: days with a site total
// still in `rollups` (today, yesterday, late events), whose rows may miss events, and settled
// days not built in the site's current zone. Every event adds to its day's site total, so days
// without one have no events to read.
std::vector<std::string> unbuilt_days(pqxx::transaction_base& tx, const query& q) {
  parameters p;
  const std::string site = p.add(q.site_id);
  const std::string in_period = " AND r.bucket >= " + p.add(q.range.first_day) +
                                "::date AND r.bucket < " + p.add(q.range.last_day) + "::date + 1";
  const std::string sql =
      "SELECT r.bucket::date::text FROM rollups r WHERE r.site_id = " + site +
      " AND r.dimension = 0" + in_period +
      " UNION SELECT r.bucket::date::text FROM rollups_settled r WHERE r.site_id = " + site +
      " AND r.dimension = 0" + in_period +
      " AND NOT EXISTS (SELECT 1 FROM visit_days m WHERE m.site_id = r.site_id"
      " AND m.day = r.bucket::date AND m.timezone = " +
      p.add(q.timezone) + ") ORDER BY 1";
  std::vector<std::string> days;
  for (const auto& row : p.exec(tx, sql)) {
    days.push_back(row[0].as<std::string>());
  }
  return days;
}

}  // namespace

bool visit_rows_answer(const request& r) {
  const query& q = *r.q;
  if (q.realtime || r.revenue_tallies) {
    return false;
  }
  const bool by_visit_value =
      r.by == grouping::value && q.breakdown && is_visit_dimension(q.breakdown->dimension);
  const bool grouping_fits = r.by == grouping::none || by_visit_value ||
                             (r.by == grouping::bucket && q.step >= interval::day);
  // Without a visit filter or breakdown, events count in their own hour, not with their visit.
  const bool attributed = by_visit_value || !q.filters.empty();
  return grouping_fits && attributed &&
         std::all_of(q.filters.begin(), q.filters.end(),
                     [](const filter& f) { return is_visit_dimension(f.target.dimension); });
}

std::vector<group> read_visit_rows(pqxx::transaction_base& tx, const request& r) {
  const query& q = *r.q;
  const auto unbuilt = unbuilt_days(tx, q);
  parameters p;
  const std::string site = p.add(q.site_id);

  std::string key = "''";
  if (r.by == grouping::bucket) {
    key = "to_char(date_trunc('" + std::string(trunc_unit(q.step)) + "', v.day::timestamp), '" +
          label_format(q.step) + "')";
  } else if (r.by == grouping::value) {
    key = "v." + visit_column(q.breakdown->dimension);
  }
  // A visit without its opening event has no opening values: the raw reader drops it under a
  // filter on one, even a negated filter that matches nothing (which NOT IN alone would keep).
  std::string where = "true";
  for (const auto& f : q.filters) {
    const std::string column = "v." + visit_column(f.target.dimension);
    where += " AND " + column + " IS NOT NULL AND " + id_condition(p, site, column, f);
  }
  std::set<std::string> valued;  // the columns of the breakdown and the filters
  if (r.by == grouping::value) {
    valued.insert(visit_column(q.breakdown->dimension));
  }
  for (const auto& f : q.filters) {
    valued.insert(visit_column(f.target.dimension));
  }
  std::string columns =
      "day, visitor_hash, other_visitor_hash, pageviews, events, bounce,"
      " duration_ms";
  for (const auto& c : valued) {
    columns += ", " + c;
  }

  // The built days' rows, and the other days grouped from their events: one statement of two
  // parts however scattered those days are (a statement per run of days would take the planner
  // seconds when there are hundreds).
  std::string rows = "SELECT " + columns + " FROM visits WHERE site_id = " + site +
                     " AND day >= " + p.add(q.range.first_day) +
                     "::date AND day <= " + p.add(q.range.last_day) + "::date";
  if (!unbuilt.empty()) {
    std::string list;
    for (const auto& day : unbuilt) {
      list += (list.empty() ? "" : ",") + day;
    }
    const std::string days = p.add("{" + list + "}") + "::date[]";
    rows += " AND day <> ALL(" + days + ") UNION ALL SELECT " + columns + " FROM plumb_visits_of(" +
            site + ", " + p.add(unbuilt.front()) + "::date, " + p.add(unbuilt.back()) + "::date, " +
            p.add(q.timezone) + ") WHERE day = ANY(" + days + ")";
  }

  std::string sql = "WITH matched AS " + std::string(r.event_tallies ? "MATERIALIZED " : "") +
                    "(SELECT " + key + " AS k, v.* FROM (" + rows + ") v WHERE " + where + ")";
  std::string visitors = "0";
  std::string from =
      " FROM (SELECT k, count(*) AS visits, count(*) FILTER (WHERE bounce) AS bounces,"
      " sum(duration_ms) AS duration_ms, sum(pageviews) AS pageviews,"
      " sum(events) AS events FROM matched GROUP BY k) t";
  if (r.event_tallies) {
    // Visitors: the distinct hashes of the visits' events (two for a visit across midnight UTC).
    sql +=
        ", hashes AS (SELECT k, visitor_hash AS h FROM matched UNION ALL"
        " SELECT k, other_visitor_hash FROM matched WHERE other_visitor_hash IS NOT NULL)";
    visitors = "coalesce(u.visitors, 0)";
    from +=
        " LEFT JOIN (SELECT k, count(DISTINCT h) AS visitors FROM hashes GROUP BY k) u"
        " ON u.k = t.k";
  }
  sql += " SELECT t.k, " + visitors +
         " AS visitors, t.pageviews, t.events, t.visits, t.bounces, t.duration_ms::bigint,"
         " 0::float8, 0" +
         from + " WHERE t.k IS NOT NULL";
  if (r.by == grouping::value) {
    sql += " ORDER BY " + std::string(r.sort_by_visits ? "t.visits" : "visitors") +
           " DESC, t.k LIMIT " + p.add(static_cast<std::int64_t>(q.limit)) + " OFFSET " +
           p.add(static_cast<std::int64_t>((q.page - 1) * q.limit));
  } else {
    sql += " ORDER BY 1";
  }
  std::vector<group> groups;
  // The planner cannot know how many visits a filter keeps and guesses a handful; a nested loop
  // into the dictionary per visit (a year of a busy site: a million lookups) is then its pick.
  // And a range of days is a range of the table's pages (rows are added a day at a time), which
  // the default cost of a random page read (a disk seek) makes it scan whole instead.
  for (const auto& row :
       p.exec_with(tx, {{"enable_nestloop", "off"}, {"random_page_cost", "1.1"}}, sql)) {
    groups.push_back(tallied_group(row));
  }
  if (r.by == grouping::value) {
    label_ids(tx, q.site_id, groups);
  }
  return groups;
}

}  // namespace plumb::stats::detail
