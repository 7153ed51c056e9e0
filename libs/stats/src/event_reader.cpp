// The raw-event source: the site's events of the period, grouped by visit where a visit's counts
// or last page are needed (engine.hpp).
#include <algorithm>
#include <map>
#include <set>

#include "plumb/events/event.hpp"
#include "sources.hpp"

namespace plumb::stats::detail {
namespace {

using events::dimension;

// Visits end after 30 minutes without an event, so almost every visit that starts in the period
// ends within a day of its end; events later than that are not read (a longer visit's duration
// and exit page are cut there).
constexpr const char* visit_tail = "interval '1 day'";

// Columns of events holding each dimension's dictionary id.
std::string column_of(dimension d) {
  switch (d) {
    case dimension::page:
    case dimension::entry_page:
    case dimension::exit_page:
      return "page_id";
    case dimension::event:
      return "name_id";
    default:
      return std::string(events::name_of(d)) + "_id";
  }
}

// Where a visit's value of a visit dimension is read. A visit's values are its opening event's
// (the event whose id is the visit's id), its exit page is its last event's, and the values that
// come from the IP address and the user agent are on every event of the visit: a visitor hash
// covers one address and user agent (DESIGN.md §3), so those need no look at the opening event.
// (A GeoIP database or user-agent rules replaced in the middle of a visit would give its later
// events other values; they are then counted by their own.)
enum class visit_value { on_every_event, opening_event, last_event };

visit_value where_visits_keep(dimension d) {
  switch (d) {
    case dimension::country:
    case dimension::region:
    case dimension::city:
    case dimension::browser:
    case dimension::browser_version:
    case dimension::os:
    case dimension::os_version:
    case dimension::device:
      return visit_value::on_every_event;
    case dimension::exit_page:
      return visit_value::last_event;
    default:
      return visit_value::opening_event;
  }
}

// Event ids are UUIDv7 minted from the receive time, which received_at always equals (the stream
// entry check, libs/events), and a visit's id is its opening event's. So a visit's start is in its
// id, and "the visit started in [lo, hi)" is a range of ids: no need to find its opening event.
// In a subquery, so it is computed once per statement (extract() is only stable, which would
// otherwise have it evaluated again for every row it is compared with).
std::string first_id_at(const std::string& time) {
  return "(SELECT (lpad(to_hex(floor(extract(epoch FROM " + time +
         ") * 1000)::bigint), 12, '0') || '00000000000000000000')::uuid)";
}
std::string start_of(const std::string& visit_id) {
  return "(timestamptz 'epoch' + ('x' || left(replace(" + visit_id +
         "::text, '-', ''), 12))::bit(48)::bigint * interval '1 millisecond')";
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

// AND of the filters on visit properties kept in `kind`, each on column_of(d) of `alias` (or on
// `expr` instead, when given).
std::string visit_match(parameters& p, const std::string& site, const query& q, visit_value kind,
                        const std::string& alias, const std::string& expr = "") {
  std::string sql = "true";
  for (const auto& f : q.filters) {
    if (is_visit_dimension(f.target.dimension) && where_visits_keep(f.target.dimension) == kind) {
      sql += " AND " +
             id_condition(p, site,
                          expr.empty() ? alias + "." + column_of(f.target.dimension) : expr, f);
    }
  }
  return sql;
}

bool has_visit_filter(const query& q, visit_value kind) {
  return std::any_of(q.filters.begin(), q.filters.end(), [&](const filter& f) {
    return is_visit_dimension(f.target.dimension) && where_visits_keep(f.target.dimension) == kind;
  });
}

}  // namespace

// The statement, in CTEs:
//   scoped    the columns it needs of the period's events (plus a day after, when visits are
//             read), narrowed by filters on values every event of a visit carries;
//   openers   the opening events of the visits that started in the period and pass the filters
//             on opening values, with their value of the breakdown;
//   visits    per visit: bounce, duration and last page, for visit tallies and exit pages;
//   visit_part, event_part   the tallies per group, joined on the group key.
// Events are grouped by visit only when visit tallies or exit pages need it: that grouping is
// what a year of a busy site costs.
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

  const dimension breakdown = q.breakdown ? q.breakdown->dimension : dimension::total;
  const auto keyed_by = [&](visit_value kind) {
    return is_visit_dimension(breakdown) && where_visits_keep(breakdown) == kind;
  };
  // Events are counted by their visit (its start, its values) under a visit filter or breakdown.
  const bool attributed = is_visit_dimension(breakdown) ||
                          std::any_of(q.filters.begin(), q.filters.end(), [](const filter& f) {
                            return is_visit_dimension(f.target.dimension);
                          });
  const bool last_pages =
      keyed_by(visit_value::last_event) || has_visit_filter(q, visit_value::last_event);
  const bool group_visits = r.visit_tallies || last_pages;
  const bool openers =
      has_visit_filter(q, visit_value::opening_event) || keyed_by(visit_value::opening_event);
  const bool need_events = r.event_tallies || r.revenue_tallies;
  const std::string scan_end =
      (attributed || r.visit_tallies) && !q.realtime ? hi + " + " + visit_tail : hi;
  const std::string started_in_period =
      "e.visit_id >= " + first_id_at(lo) + " AND e.visit_id < " + first_id_at(hi);

  // The columns the statement reads: a year of a busy site is millions of rows to materialise.
  std::set<std::string> columns{"event_id",     "visit_id", "received_at",
                                "visitor_hash", "name_id",  "page_id"};
  if (r.visit_tallies) {
    columns.insert("interactive");
  }
  if (r.revenue_tallies) {
    columns.insert("revenue_amount");
  }
  const auto read_column_of = [&](const property& target) {
    columns.insert(target.dimension == dimension::prop ? "props" : column_of(target.dimension));
  };
  if (q.breakdown) {
    read_column_of(*q.breakdown);
  }
  for (const auto& f : q.filters) {
    read_column_of(f.target);
  }
  std::string column_list;
  for (const auto& c : columns) {
    column_list += (column_list.empty() ? "" : ", ") + c;
  }

  std::string sql = "WITH scoped AS MATERIALIZED (SELECT " + column_list +
                    " FROM events e WHERE e.site_id = " + site + " AND e.received_at >= " + lo +
                    " AND e.received_at < " + scan_end;
  if (attributed) {
    sql += " AND " + started_in_period + " AND " +
           visit_match(p, site, q, visit_value::on_every_event, "e");
  }
  sql += ")";
  const std::string matches = event_match(p, site, pv, q);
  if (openers) {
    sql += ", openers AS (SELECT o.visit_id" +
           (keyed_by(visit_value::opening_event) ? ", o." + column_of(breakdown) + " AS key"
                                                 : std::string()) +
           " FROM scoped o WHERE o.event_id = o.visit_id AND " +
           visit_match(p, site, q, visit_value::opening_event, "o") + ")";
  }
  if (group_visits) {
    const std::string last_page =
        "(array_agg(e.page_id ORDER BY e.received_at DESC, e.event_id DESC))[1]";
    sql += ", visits AS (SELECT e.visit_id";
    if (r.visit_tallies) {
      sql += ", count(*) FILTER (WHERE e.name_id = " + pv +
             ") = 1 AND NOT coalesce(bool_or(e.name_id <> " + pv +
             " AND e.interactive), false) AS bounce,"
             " (extract(epoch FROM max(e.received_at) - min(e.received_at)) * 1000)::bigint"
             " AS duration_ms";
    }
    if (keyed_by(visit_value::last_event)) {
      sql += ", " + last_page + " AS key";
    } else if (keyed_by(visit_value::on_every_event)) {
      sql += ", min(e." + column_of(breakdown) + ") AS key";
    }
    sql += " FROM scoped e WHERE " + started_in_period;
    if (openers) {
      sql += " AND e.visit_id IN (SELECT visit_id FROM openers)";
    }
    if (matches != "true") {
      // Only visits with an event the event filters match are counted.
      sql += " AND e.visit_id IN (SELECT e.visit_id FROM scoped e WHERE " + matches + ")";
    }
    sql += " GROUP BY e.visit_id HAVING " +
           visit_match(p, site, q, visit_value::last_event, "", last_page) + ")";
  }

  // Group keys: the visit's start and values when attributed, else the event's own.
  std::string visit_group = "''";
  std::string event_group = "''";
  std::string event_where = matches;
  bool id_keys = false;
  if (r.by == grouping::bucket) {
    const std::string fmt = std::string("'") + label_format(q.step) + "'";
    const std::string unit = std::string("'") + trunc_unit(q.step) + "'";
    const auto bucket_of = [&](const std::string& time) {
      return "to_char(date_trunc(" + unit + ", " + time + " AT TIME ZONE " + tz() + "), " + fmt +
             ")";
    };
    visit_group = bucket_of(start_of("v.visit_id"));
    event_group = bucket_of(attributed ? start_of("e.visit_id") : "e.received_at");
  } else if (r.by == grouping::value) {
    if (breakdown == dimension::prop) {
      const std::string key = p.add(q.breakdown->prop_key);
      event_group = "e.props->>" + key;
      event_where += " AND e.props ? " + key;
    } else {
      id_keys = true;
      if (!is_visit_dimension(breakdown)) {
        event_group = "e." + column_of(breakdown);
        if (breakdown == dimension::event) {
          event_where += " AND e.name_id <> " + pv;
        }
      } else if (keyed_by(visit_value::on_every_event)) {
        visit_group = "v.key";
        event_group = "e." + column_of(breakdown);
      } else if (keyed_by(visit_value::opening_event)) {
        visit_group = "o.key";
        event_group = "o.key";
      } else {
        visit_group = "v.key";
        event_group = "v.key";
      }
    }
  }
  if (r.visit_tallies) {
    sql += ", visit_part AS (SELECT " + visit_group +
           " AS k, count(*) AS visits,"
           " count(*) FILTER (WHERE v.bounce) AS bounces, sum(v.duration_ms) AS duration_ms"
           " FROM visits v" +
           (visit_group == "o.key" ? " JOIN openers o ON o.visit_id = v.visit_id" : "") +
           " GROUP BY 1)";
  }
  if (need_events) {
    std::string from = "scoped e";
    if (openers) {
      from += " JOIN openers o ON o.visit_id = e.visit_id";
    }
    if (last_pages) {
      from += " JOIN visits v ON v.visit_id = e.visit_id";
    }
    sql += ", event_part AS (SELECT " + event_group +
           " AS k, count(DISTINCT e.visitor_hash) AS visitors,"
           " count(*) FILTER (WHERE e.name_id = " +
           pv + ") AS pageviews, count(*) FILTER (WHERE e.name_id <> " + pv + ") AS events, " +
           (r.revenue_tallies ? "coalesce(sum(e.revenue_amount), 0)::float8 AS revenue,"
                                " count(e.revenue_amount) AS revenue_events"
                              : "0::float8 AS revenue, 0 AS revenue_events") +
           " FROM " + from + " WHERE " + (attributed ? "" : "e.received_at < " + hi + " AND ") +
           event_where + " GROUP BY 1)";
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
  } else {
    sql += " ORDER BY 1";
  }
  // The CTEs carry no statistics, so the planner's row counts for them are guesses, often of a
  // few rows; a nested loop between two of them is then quadratic in the events read.
  const auto rows = p.exec_with(tx, {{"enable_nestloop", "off"}}, sql);
  std::vector<group> groups;
  for (const auto& row : rows) {
    if (row[0].is_null()) {
      continue;
    }
    groups.push_back(tallied_group(row));
  }
  if (id_keys) {
    label_ids(tx, q.site_id, groups);
  }
  return groups;
}

}  // namespace plumb::stats::detail
