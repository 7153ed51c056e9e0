// The raw-event source: the site's events of the period, grouped by visit (engine.hpp).
#include <algorithm>

#include "plumb/events/event.hpp"
#include "sources.hpp"

namespace plumb::stats::detail {
namespace {

using events::dimension;

// Visits end after 30 minutes without an event, so almost every visit that starts in the period
// ends within a day of its end; events later than that are not read (a longer visit's duration
// and exit page are cut there).
constexpr const char* visit_tail = "interval '1 day'";

// Columns of events holding each dimension's dictionary id (the visit's values are its first
// event's, read from the opening event `o`).
std::string column_of(dimension d) {
  switch (d) {
    case dimension::page:
    case dimension::entry_page:
      return "page_id";
    case dimension::event:
      return "name_id";
    default:
      return std::string(events::name_of(d)) + "_id";
  }
}

// Alternatives of a filter as an SQL condition on a text expression (custom properties).
std::string text_condition(parameters& p, const std::string& expr, const filter& f) {
  const std::string values = p.add_array(f.values);
  switch (f.op) {
    case filter_op::is:
      return "coalesce(" + expr + " = ANY(" + values + "), false)";
    case filter_op::is_not:
      return "NOT coalesce(" + expr + " = ANY(" + values + "), false)";
    case filter_op::contains:
      return "EXISTS (SELECT 1 FROM unnest(" + values + ") x WHERE strpos(" + expr + ", x) > 0)";
    case filter_op::does_not_contain:
      return "NOT EXISTS (SELECT 1 FROM unnest(" + values + ") x WHERE strpos(" + expr +
             ", x) > 0)";
  }
  return "false";
}

std::string id_condition(parameters& p, const std::string& site, const std::string& column,
                         const filter& f) {
  const bool negated = f.op == filter_op::is_not || f.op == filter_op::does_not_contain;
  return column + (negated ? " NOT IN " : " IN ") + matching_ids(p, site, f, "");
}

// AND of the filters on event properties, on alias `e` ("true" when none).
std::string event_match(parameters& p, const std::string& site, const std::string& pageview_id,
                        const query& q) {
  std::string sql = "true";
  for (const auto& f : q.filters) {
    if (is_visit_dimension(f.target.dimension)) {
      continue;
    }
    sql += " AND ";
    if (f.target.dimension == dimension::prop) {
      sql += text_condition(p, "e.props->>" + p.add(f.target.prop_key), f);
    } else if (f.target.dimension == dimension::event) {
      sql += goal_condition(p, site, pageview_id, f);
    } else {
      sql += id_condition(p, site, "e." + column_of(f.target.dimension), f);
    }
  }
  return sql;
}

// AND of the filters on visit properties, on the opening event `o` and the visit `v`.
std::string visit_match(parameters& p, const std::string& site, const query& q) {
  std::string sql = "true";
  for (const auto& f : q.filters) {
    if (!is_visit_dimension(f.target.dimension)) {
      continue;
    }
    const std::string column = f.target.dimension == dimension::exit_page    ? "o.exit_page_id"
                               : f.target.dimension == dimension::entry_page ? "o.entry_page_id"
                                                                             : "o." + column_of(f.target.dimension);
    sql += " AND " + id_condition(p, site, column, f);
  }
  return sql;
}

}  // namespace

std::vector<group> read_events(pqxx::transaction_base& tx, const request& r) {
  const query& q = *r.q;
  parameters p;
  const std::string site = p.add(q.site_id);
  const auto pageview_id =
      p.exec(tx, "SELECT id FROM dimension_values WHERE site_id = $1 AND value = '" +
                     std::string(events::pageview_name) + "'");
  if (pageview_id.empty()) {
    return {};  // nothing was ever stored for this site
  }
  const std::string pv = p.add(pageview_id[0][0].as<std::int64_t>());
  // Bound on first use: PostgreSQL rejects a statement with a parameter it never reads (realtime
  // totals read no time zone).
  std::string tz_placeholder;
  const auto tz = [&] {
    if (tz_placeholder.empty()) {
      tz_placeholder = p.add(q.timezone);
    }
    return tz_placeholder;
  };
  std::string lo;
  std::string hi;
  if (q.realtime) {
    const std::string now = p.add(q.now_ms);
    lo = "to_timestamp(" + now + "::bigint / 1000.0) - interval '30 minutes'";
    hi = "to_timestamp(" + now + "::bigint / 1000.0) + interval '1 millisecond'";
  } else {
    lo = "(" + p.add(q.range.first_day) + "::date)::timestamp AT TIME ZONE " + tz();
    hi = "(" + p.add(q.range.last_day) + "::date + 1)::timestamp AT TIME ZONE " + tz();
  }
  const bool attributed = (q.breakdown && is_visit_dimension(q.breakdown->dimension)) ||
                          std::any_of(q.filters.begin(), q.filters.end(), [](const filter& f) {
                            return is_visit_dimension(f.target.dimension);
                          });
  const bool need_visits = attributed || r.visit_tallies;
  const bool need_events = r.event_tallies || r.revenue_tallies;
  const std::string scan_end = need_visits && !q.realtime ? hi + " + " + visit_tail : hi;

  std::string sql = "WITH scoped AS MATERIALIZED (SELECT * FROM events WHERE site_id = " + site +
                    " AND received_at >= " + lo + " AND received_at < " + scan_end + ")";
  const std::string matches = event_match(p, site, pv, q);
  if (need_visits) {
    // The visit's values are its opening event's (event_id = visit_id), taken in the same pass
    // as its counts: joining the grouped visits back to their events costs PostgreSQL a nested
    // loop over both CTEs (quadratic in the events scanned).
    const std::string opening = ") FILTER (WHERE event_id = visit_id))[1] AS ";
    std::string attribution = ", (array_agg(page_id" + opening + "entry_page_id";
    for (const auto d : events::attribution_dimensions) {
      attribution += ", (array_agg(" + column_of(d) + opening + column_of(d);
    }
    sql +=
        ", visit_rows AS (SELECT visit_id,"
        " count(*) FILTER (WHERE name_id = " +
        pv +
        ") AS pageviews,"
        " count(*) FILTER (WHERE name_id = " +
        pv + ") = 1 AND NOT coalesce(bool_or(name_id <> " + pv +
        " AND interactive), false) AS bounce,"
        " (extract(epoch FROM max(received_at) - min(received_at)) * 1000)::bigint AS duration_ms,"
        " (array_agg(page_id ORDER BY received_at DESC, event_id DESC))[1] AS exit_page_id,"
        " coalesce(bool_or(" +
        matches +
        "), false) AS matched,"
        // NULL when the opening event is not in the scan (the visit started before the period).
        " min(received_at) FILTER (WHERE event_id = visit_id) AS started_at" +
        attribution +
        " FROM scoped e GROUP BY visit_id)"
        ", visits AS (SELECT * FROM visit_rows o WHERE o.started_at < " +
        hi + " AND " + visit_match(p, site, q) + ")";
  }

  // Group keys: the visit's values under a visit property, else the event's own.
  std::string visit_key = "''";
  std::string event_key = "''";
  std::string event_where = matches;
  bool id_keys = false;
  if (r.by == grouping::bucket) {
    const std::string fmt = std::string("'") + label_format(q.step) + "'";
    const std::string unit = std::string("'") + trunc_unit(q.step) + "'";
    visit_key =
        "to_char(date_trunc(" + unit + ", v.started_at AT TIME ZONE " + tz() + "), " + fmt + ")";
    event_key = attributed ? visit_key
                           : "to_char(date_trunc(" + unit + ", e.received_at AT TIME ZONE " + tz() +
                                 "), " + fmt + ")";
  } else if (r.by == grouping::value) {
    const dimension d = q.breakdown->dimension;
    if (d == dimension::prop) {
      const std::string key = p.add(q.breakdown->prop_key);
      event_key = "e.props->>" + key;
      event_where += " AND e.props ? " + key;
    } else if (is_visit_dimension(d)) {
      id_keys = true;
      visit_key = d == dimension::exit_page    ? "v.exit_page_id"
                  : d == dimension::entry_page ? "v.entry_page_id"
                                               : "v." + column_of(d);
      event_key = visit_key;
    } else {
      id_keys = true;
      event_key = "e." + column_of(d);
      if (d == dimension::event) {
        event_where += " AND e.name_id <> " + pv;
      }
    }
  }
  std::vector<std::string> parts;
  if (r.visit_tallies) {
    sql += ", visit_part AS (SELECT " + visit_key +
           " AS k, count(*) AS visits,"
           " count(*) FILTER (WHERE v.bounce) AS bounces, sum(v.duration_ms) AS duration_ms"
           " FROM visits v WHERE v.matched GROUP BY 1)";
  }
  if (need_events) {
    const std::string from = attributed ? "scoped e JOIN visits v ON v.visit_id = e.visit_id"
                                        : "scoped e WHERE e.received_at < " + hi + " AND";
    sql += ", event_part AS (SELECT " + event_key +
           " AS k, count(DISTINCT e.visitor_hash) AS visitors,"
           " count(*) FILTER (WHERE e.name_id = " +
           pv +
           ") AS pageviews,"
           " count(*) FILTER (WHERE e.name_id <> " +
           pv +
           ") AS events,"
           " coalesce(sum(e.revenue_amount), 0)::float8 AS revenue, count(e.revenue_amount) AS "
           "revenue_events"
           " FROM " +
           from + (attributed ? " WHERE " : " ") + event_where + " GROUP BY 1)";
  }
  // A tally of a part the query does not compute is 0.
  const auto from_events = [&](const char* name) {
    return need_events ? "coalesce(ep." + std::string(name) + ", 0)" : std::string("0");
  };
  const auto from_visits = [&](const char* name) {
    return r.visit_tallies ? "coalesce(vp." + std::string(name) + ", 0)" : std::string("0");
  };
  const std::string select = "SELECT " +
                             std::string(need_events && r.visit_tallies ? "coalesce(ep.k, vp.k)"
                                         : need_events                  ? "ep.k"
                                                                        : "vp.k") +
                             " AS k, " + from_events("visitors") + " AS visitors, " +
                             from_events("pageviews") + ", " + from_events("events") + ", " +
                             from_visits("visits") + " AS visits, " + from_visits("bounces") +
                             ", " + from_visits("duration_ms") + "::bigint, " +
                             from_events("revenue") + ", " + from_events("revenue_events");
  std::string from;
  if (need_events && r.visit_tallies) {
    from = " FROM event_part ep FULL JOIN visit_part vp ON vp.k = ep.k";
  } else if (need_events) {
    from = " FROM event_part ep";
  } else {
    from = " FROM visit_part vp";
  }
  sql += select + from;
  if (r.by == grouping::value) {
    const std::string order = r.sort_by_visits ? "visits" : "visitors";
    sql += " ORDER BY " + order + " DESC, k LIMIT " + p.add(static_cast<std::int64_t>(q.limit)) +
           " OFFSET " + p.add(static_cast<std::int64_t>((q.page - 1) * q.limit));
    if (id_keys) {
      sql =
          "SELECT dv.value, g.visitors, g.pageviews, g.events, g.visits, g.bounces, g.duration_ms,"
          " g.revenue, g.revenue_events FROM (" +
          sql +
          ") g(k, visitors, pageviews, events, visits, bounces, duration_ms, revenue, "
          "revenue_events) JOIN dimension_values dv ON dv.site_id = " +
          site + " AND dv.id = g.k ORDER BY g." + order + " DESC, g.k";
    }
  } else {
    sql += " ORDER BY 1";
  }
  std::vector<group> groups;
  for (const auto& row : p.exec(tx, sql)) {
    if (row[0].is_null()) {
      continue;
    }
    group g;
    g.key = row[0].as<std::string>();
    g.counts.visitors = row[1].as<std::int64_t>();
    g.counts.pageviews = row[2].as<std::int64_t>();
    g.counts.events = row[3].as<std::int64_t>();
    g.counts.visits = row[4].as<std::int64_t>();
    g.counts.bounces = row[5].as<std::int64_t>();
    g.counts.duration_ms = row[6].as<std::int64_t>();
    g.counts.revenue = row[7].as<double>();
    g.counts.revenue_events = row[8].as<std::int64_t>();
    groups.push_back(std::move(g));
  }
  return groups;
}

}  // namespace plumb::stats::detail
