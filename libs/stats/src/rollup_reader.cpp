// The rollup source: sums of daily rows of one dimension, or of the hourly site totals
// (docs/ROLLUPS.md).
#include <algorithm>
#include <iterator>
#include <map>
#include <optional>

#include "sources.hpp"

namespace plumb::stats::detail {
namespace {

using events::dimension;

// Every filter of a rollup read tests the dimension read, so each one restricts value_id. A
// value list is read first (an array, not a join): the planner cannot know how many values a
// substring matches, guesses thousands, and would otherwise read every row of the range and join.
std::string value_filters(parameters& p, const std::string& site, const query& q,
                          const std::string& prefix) {
  std::string sql;
  for (const auto& f : q.filters) {
    const bool negated = f.op == filter_op::is_not || f.op == filter_op::does_not_contain;
    sql += negated ? " AND r.value_id NOT IN " + matching_ids(p, site, f, prefix)
                   : " AND r.value_id = ANY(ARRAY" + matching_ids(p, site, f, prefix) + ")";
  }
  return sql;
}

dimension dimension_read(const request& r) {
  const query& q = *r.q;
  if (q.breakdown) {
    return q.breakdown->dimension;
  }
  if (!q.filters.empty()) {
    return q.filters.front().target.dimension;
  }
  return r.by == grouping::bucket && q.step < interval::day ? dimension::total_hourly
                                                            : dimension::total;
}

std::string prop_key(const query& q) {
  if (q.breakdown && q.breakdown->dimension == dimension::prop) {
    return q.breakdown->prop_key;
  }
  return q.filters.empty() ? std::string() : q.filters.front().target.prop_key;
}

// What values of dimension `d` start with: "key\x1f" for props, nothing otherwise.
std::string key_prefix_of(const query& q, dimension d) {
  return d == dimension::prop ? prop_key(q) + events::value_separator : "";
}

std::string bucket_range(parameters& p, const query& q) {
  return " AND r.bucket >= " + p.add(q.range.first_day) + "::date AND r.bucket < " +
         p.add(q.range.last_day) + "::date + 1";
}

std::string bucket_label(const query& q) {
  return std::string("to_char(date_trunc('") + trunc_unit(q.step) + "', r.bucket), '" +
         label_format(q.step) + "')";
}

// The conditions on values of dimension `d` that a query reads: its site and filters, on a table
// `r` of site_id, dimension and value_id.
std::string value_conditions(parameters& p, const query& q, dimension d,
                             const std::string& key_prefix) {
  const std::string site = p.add(q.site_id);
  std::string where = "r.site_id = " + site +
                      " AND r.dimension = " + p.add(static_cast<std::int64_t>(d)) +
                      value_filters(p, site, q, key_prefix);
  if (d == dimension::prop && q.filters.empty()) {
    where += " AND r.value_id IN (SELECT id FROM dimension_values WHERE site_id = " + site +
             " AND starts_with(value, " + p.add(key_prefix) + "))";
  }
  return where;
}

// The conditions on rows of dimension `d` that a query reads: its values and range.
std::string row_conditions(parameters& p, const query& q, dimension d,
                           const std::string& key_prefix) {
  return value_conditions(p, q, d, key_prefix) + bucket_range(p, q);
}

const std::string sums =
    "coalesce(sum(r.pageviews), 0) AS pageviews, coalesce(sum(r.events), 0) AS events,"
    " coalesce(sum(r.visits), 0) AS visits, coalesce(sum(r.bounces), 0) AS bounces,"
    " coalesce(sum(r.duration_ms), 0) AS duration_ms,"
    " coalesce(round(hll_cardinality(hll_union_agg(r.visitors))), 0)::bigint AS visitors";

group group_of(const pqxx::row& row) {
  group g;
  g.key = row[0].as<std::string>();
  g.counts.pageviews = row[1].as<std::int64_t>();
  g.counts.events = row[2].as<std::int64_t>();
  g.counts.visits = row[3].as<std::int64_t>();
  g.counts.bounces = row[4].as<std::int64_t>();
  g.counts.duration_ms = row[5].as<std::int64_t>();
  g.counts.visitors = row[6].as<std::int64_t>();
  return g;
}

// A breakdown value's group and its id, which orders values with equal counts.
struct value_group {
  std::int64_t id = 0;
  group g;
};

// What orders a breakdown: visitors, or exits (visits) of exit pages; then the value id.
std::int64_t rank_of(const request& r, const group& g) {
  return r.sort_by_visits ? g.counts.visits : g.counts.visitors;
}

bool ranks_before(const request& r, const value_group& a, const value_group& b) {
  const auto ra = rank_of(r, a.g);
  const auto rb = rank_of(r, b.g);
  return ra != rb ? ra > rb : a.id < b.id;
}

// The breakdown's values, best first, `count` of them from `offset`; with `only`, among those
// value ids alone.
std::vector<value_group> read_values(pqxx::transaction_base& tx, const request& r, dimension d,
                                     const std::string& key_prefix, std::size_t offset,
                                     std::size_t count,
                                     const std::vector<std::int64_t>* only = nullptr) {
  const query& q = *r.q;
  parameters p;
  std::string where = row_conditions(p, q, d, key_prefix);
  if (only != nullptr) {
    std::string ids = "{";
    for (const auto id : *only) {
      ids += (ids.size() > 1 ? "," : "") + std::to_string(id);
    }
    where += " AND r.value_id = ANY(" + p.add(ids + "}") + "::bigint[])";
  }
  const std::string order = r.sort_by_visits ? "visits" : "visitors";
  const std::string text = key_prefix.empty()
                               ? "v.value"
                               : "substr(v.value, " + std::to_string(key_prefix.size() + 1) + ")";
  const std::string sql =
      "SELECT " + text +
      ", g.pageviews, g.events, g.visits, g.bounces, g.duration_ms, g.visitors, g.value_id FROM"
      " (SELECT r.value_id, " +
      sums + " FROM " + rollup_rows(where) + " GROUP BY r.value_id ORDER BY " + order +
      " DESC, r.value_id LIMIT " + p.add(static_cast<std::int64_t>(count)) + " OFFSET " +
      p.add(static_cast<std::int64_t>(offset)) +
      ") g JOIN dimension_values v ON v.site_id = " + p.add(q.site_id) +
      " AND v.id = g.value_id ORDER BY g." + order + " DESC, g.value_id";
  // A breakdown may have tens of thousands of values, each aggregating a visitor sketch: the
  // planner cannot estimate the groups of the two tables' union and picks a hash aggregate that
  // spills to disk, or a parallel aggregate that ships every value's partial sketch between
  // processes; sorting by value in one process is several times faster than either (a month of
  // 96,000 pages: 105 ms against 500 ms in parallel).
  std::vector<value_group> values;
  for (const auto& row : p.exec_with(
           tx, {{"enable_hashagg", "off"}, {"max_parallel_workers_per_gather", "0"}}, sql)) {
    values.push_back({row[7].as<std::int64_t>(), group_of(row)});
  }
  return values;
}

// A breakdown value and an upper bound of its visitors and of its visits in the query's range:
// the weight of its rows (plumb_rollup_weight, migration 0009: visits on visit rows, pageviews +
// events on event rows), since each visitor and each visit a row counts comes with at least one
// of those on that row.
struct bounded_value {
  std::int64_t id = 0;
  std::int64_t bound = 0;
};

// More candidates than this and summing every row of the range is as cheap.
constexpr std::size_t max_candidates = 2'000;
// How many of the values with the highest bounds are read first, per value a page shows: they set
// the visitor count that every other candidate's bound must reach.
constexpr std::size_t first_candidates_per_value = 4;
// Ranges starting at most this many months before their last month are bounded by the totals
// since their first month (one list of max_candidates per month); longer ones by all-time totals,
// which a range of a year or more is barely below and which are one list.
constexpr int max_months_listed = 6;

// Values by bound, highest first (ties by id). Every value whose bound is above `ceiling` is
// listed, with its bound; every other value with rows in the range has a bound of at most
// `ceiling`, whether it is listed or not (listed, its bound may be too low). Without a ceiling
// every value with rows in the range is listed, with its bound.
struct values_by_bound {
  std::vector<bounded_value> values;
  std::optional<std::int64_t> ceiling;
};

void sort_by_bound(std::vector<bounded_value>& values) {
  std::sort(values.begin(), values.end(), [](const bounded_value& a, const bounded_value& b) {
    return a.bound != b.bound ? a.bound > b.bound : a.id < b.id;
  });
}

// Bounds over all time: the settled rows' weights per value (`rollup_value_totals`, kept by
// triggers on `rollups_settled`), read in index order, plus the weights of the value's rows not
// settled yet. A delta of a settled day may be negative in `rollups`; each value keeps its larger
// sum then, which can only be too high.
values_by_bound values_by_total(pqxx::transaction_base& tx, const request& r, dimension d,
                                const std::string& key_prefix) {
  parameters p;
  const std::string of_values = value_conditions(p, *r.q, d, key_prefix);
  const std::string limit = p.add(static_cast<std::int64_t>(max_candidates + 1));
  const std::string sql =
      "SELECT value_id, max(bound) AS bound FROM ("
      " (SELECT r.value_id, r.weight AS bound FROM rollup_value_totals r WHERE " +
      of_values + " ORDER BY r.weight DESC LIMIT " + limit +
      ") UNION ALL SELECT r.value_id,"
      " sum(plumb_rollup_weight(r.dimension, r.pageviews, r.events, r.visits))"
      " + coalesce(max(t.weight), 0)"
      " FROM rollups r LEFT JOIN rollup_value_totals t ON t.site_id = r.site_id"
      " AND t.dimension = r.dimension AND t.value_id = r.value_id WHERE " +
      of_values + " GROUP BY r.value_id) b GROUP BY value_id ORDER BY bound DESC, value_id LIMIT " +
      limit;
  values_by_bound listed;
  for (const auto& row : p.exec(tx, sql)) {
    listed.values.push_back({row[0].as<std::int64_t>(), row[1].as<std::int64_t>()});
  }
  if (listed.values.size() > max_candidates) {
    listed.ceiling = listed.values.back().bound;
    listed.values.pop_back();
  }
  return listed;
}

// "YYYY-MM-DD" as a count of months.
int month_number(const std::string& day) {
  return std::stoi(day.substr(0, 4)) * 12 + std::stoi(day.substr(5, 2)) - 1;
}

int months_in_range(const query& q) {
  return month_number(q.range.last_day) - month_number(q.range.first_day) + 1;
}

// The first days of the months the range touches, "YYYY-MM-01".
std::vector<std::string> months_of(const query& q) {
  std::vector<std::string> months;
  for (int m = month_number(q.range.first_day); m <= month_number(q.range.last_day); ++m) {
    const int month = m % 12 + 1;
    months.push_back(std::to_string(m / 12) + (month < 10 ? "-0" : "-") + std::to_string(month) +
                     "-01");
  }
  return months;
}

// Bounds from the range's first month on (`rollup_value_totals_since`, migration 0011): a value's
// bound is its first row from that month on, which holds its weight from there on (its later rows
// hold less, so it is also its largest, which is how values with rows not settled yet look it up:
// by the primary key, not by the by-weight index that a lookup ordered by month would tempt the
// planner into), plus its rows in the range not settled yet.
// Each month of the range lists its max_candidates heaviest values; a value missing from a month
// whose list is full weighs at most that list's last weight there, so the largest of those is the
// ceiling. A value listed above it is listed with its bound: its first month's row, which holds at
// least as much, cannot have been left out. Months after the range hold no row of it.
values_by_bound values_since_month(pqxx::transaction_base& tx, const request& r, dimension d,
                                   const std::string& key_prefix) {
  const query& q = *r.q;
  parameters p;
  const std::string of_values = value_conditions(p, q, d, key_prefix);
  const auto months = months_of(q);
  const std::string first_month = p.add(months.front()) + "::date";
  const std::string per_month = p.add(static_cast<std::int64_t>(max_candidates));
  const std::string of_rows = row_conditions(p, q, d, key_prefix);
  // The months as an array, not generate_series: the planner takes that for 1,000 rows and then
  // compiles the statement (JIT), which costs more than the whole read.
  const std::string sql =
      "SELECT m.since, r.value_id, r.weight FROM unnest(" + p.add_array(months) +
      "::date[]) m (since) CROSS JOIN LATERAL (SELECT r.value_id, r.weight"
      " FROM rollup_value_totals_since r WHERE " +
      of_values + " AND r.since = m.since ORDER BY r.weight DESC LIMIT " + per_month +
      ") r UNION ALL SELECT NULL, u.value_id, coalesce(s.weight, 0) + greatest(u.weight, 0) FROM"
      " (SELECT r.site_id, r.dimension, r.value_id,"
      "  sum(plumb_rollup_weight(r.dimension, r.pageviews, r.events, r.visits)) AS weight"
      "  FROM rollups r WHERE " +
      of_rows +
      " GROUP BY 1, 2, 3) u LEFT JOIN LATERAL (SELECT max(s.weight) AS weight"
      " FROM rollup_value_totals_since s WHERE s.site_id = u.site_id"
      " AND s.dimension = u.dimension AND s.value_id = u.value_id AND s.since >= " +
      first_month + ") s ON true";
  // Per month: how many values its list holds and its last weight.
  std::map<std::string, std::pair<std::size_t, std::int64_t>> lists;
  std::map<std::int64_t, std::int64_t> bounds;
  for (const auto& row : p.exec(tx, sql)) {
    const auto id = row[1].as<std::int64_t>();
    const auto weight = row[2].as<std::int64_t>();
    if (!row[0].is_null()) {
      auto& [listed, last] = lists[row[0].as<std::string>()];
      last = listed++ == 0 ? weight : std::min(last, weight);
    }
    const auto [it, added] = bounds.try_emplace(id, weight);
    if (!added) {
      it->second = std::max(it->second, weight);
    }
  }
  values_by_bound listed;
  for (const auto& [month, list] : lists) {
    if (list.first >= max_candidates) {
      listed.ceiling = std::max(listed.ceiling.value_or(list.second), list.second);
    }
  }
  for (const auto& [id, bound] : bounds) {
    listed.values.push_back({id, bound});
  }
  sort_by_bound(listed.values);
  return listed;
}

// Whether a value other than those of `listed` has rows in the range: the first such row ends
// the read, and the listed values' own rows are all it can pass before one.
bool value_follows(pqxx::transaction_base& tx, const request& r, dimension d,
                   const std::string& key_prefix, const std::vector<value_group>& listed) {
  std::vector<std::string> ids;
  for (const auto& v : listed) {
    ids.push_back(std::to_string(v.id));
  }
  parameters p;
  const std::string where = row_conditions(p, *r.q, d, key_prefix) + " AND r.value_id <> ALL(" +
                            p.add_array(ids) + "::bigint[])";
  return !p.exec(tx, "SELECT 1 FROM " + rollup_rows(where) + " LIMIT 1").empty();
}

// One page of a breakdown from the values whose bound can reach it. The first values by bound are
// read exactly; the page's last row among them has `last` visitors (visits for sort_by_visits),
// and the true page's last row has at least as many, so only values with a bound >= last can be
// on the page. When the bounds are not all known that far down (last <= ceiling), every value
// above the ceiling is read instead, and the page stands only if its last row is above the
// ceiling too. Those values are read exactly, and every other value is skipped. nullopt when more
// than max_candidates values would be read, or the page ends at or below the ceiling.
std::optional<std::vector<group>> page_within_bounds(pqxx::transaction_base& tx, const request& r,
                                                     dimension d, const std::string& key_prefix,
                                                     const values_by_bound& listed) {
  const query& q = *r.q;
  const auto& values = listed.values;
  const auto offset = (q.page - 1) * q.limit;
  const auto wanted = offset + q.limit;
  // The best values among values[from, to), best first.
  const auto read_range = [&](std::size_t from, std::size_t to) {
    std::vector<std::int64_t> ids;
    for (std::size_t i = from; i < to; ++i) {
      ids.push_back(values[i].id);
    }
    return read_values(tx, r, d, key_prefix, 0, wanted, &ids);
  };
  // Whether the page's last row is above every value whose bound is unknown.
  const auto clears_ceiling = [&](const std::vector<value_group>& best) {
    return !listed.ceiling ||
           (best.size() >= wanted && rank_of(r, best[wanted - 1].g) > *listed.ceiling);
  };
  const std::size_t first = std::min(values.size(), wanted * first_candidates_per_value);
  auto best = read_range(0, first);
  const std::int64_t last = best.size() < wanted ? 0 : rank_of(r, best.back().g);
  const std::int64_t reach = clears_ceiling(best) ? last : *listed.ceiling + 1;
  const auto reaching = static_cast<std::size_t>(
      std::partition_point(values.begin(), values.end(),
                           [&](const bounded_value& v) { return v.bound >= reach; }) -
      values.begin());
  if (reaching > max_candidates) {
    return std::nullopt;
  }
  if (reaching > first) {
    auto more = read_range(first, reaching);
    best.insert(best.end(), std::make_move_iterator(more.begin()),
                std::make_move_iterator(more.end()));
    std::sort(best.begin(), best.end(),
              [&](const value_group& a, const value_group& b) { return ranks_before(r, a, b); });
  }
  if (!clears_ceiling(best)) {
    return std::nullopt;
  }
  if (r.more != nullptr) {
    *r.more = best.size() > wanted || value_follows(tx, r, d, key_prefix, best);
  }
  std::vector<group> page;
  for (std::size_t i = offset; i < std::min(wanted, best.size()); ++i) {
    page.push_back(std::move(best[i].g));
  }
  return page;
}

// One page of a breakdown without summing every row of the range, which for a busy dimension over
// a year is millions of rows with a visitor sketch each. nullopt: the bounds do not prune enough;
// sum every row instead.
std::optional<std::vector<group>> read_values_pruned(pqxx::transaction_base& tx, const request& r,
                                                     dimension d, const std::string& key_prefix) {
  if (r.q->page * r.q->limit > max_candidates) {
    return std::nullopt;  // a page this deep is past every value the bounds could list
  }
  return page_within_bounds(tx, r, d, key_prefix,
                            months_in_range(*r.q) <= max_months_listed
                                ? values_since_month(tx, r, d, key_prefix)
                                : values_by_total(tx, r, d, key_prefix));
}

// Revenue rows ("goal\x1fCURRENCY") summed per group; goal filters test the goal part.
void add_revenue(pqxx::transaction_base& tx, const request& r, std::vector<group>& groups) {
  const query& q = *r.q;
  parameters p;
  const std::string site = p.add(q.site_id);
  const std::string goal = "split_part(v.value, E'\\x1f', 1)";
  std::string key = "''";
  if (r.by == grouping::bucket) {
    key = bucket_label(q);
  } else if (r.by == grouping::value) {
    key = goal;
  }
  std::string where = "r.site_id = " + site +
                      " AND r.dimension = " + p.add(static_cast<std::int64_t>(dimension::revenue)) +
                      bucket_range(p, q);
  std::string sql = "SELECT " + key +
                    ", coalesce(sum(r.revenue), 0)::float8, coalesce(sum(r.events), 0)" + " FROM " +
                    rollup_rows(where) + " JOIN dimension_values v ON v.site_id = " + site +
                    " AND v.id = r.value_id WHERE true";
  for (const auto& f : q.filters) {
    const bool negated = f.op == filter_op::is_not || f.op == filter_op::does_not_contain;
    const bool exact = f.op == filter_op::is || f.op == filter_op::is_not;
    const std::string values = p.add_array(f.values);
    sql += std::string(" AND ") + (negated ? "NOT " : "") +
           (exact ? goal + " = ANY(" + values + ")"
                  : "EXISTS (SELECT 1 FROM unnest(" + values + ") x WHERE strpos(" + goal +
                        ", x) > 0)");
  }
  sql += " GROUP BY 1";
  for (const auto& row : p.exec(tx, sql)) {
    const auto k = row[0].as<std::string>();
    auto it =
        std::find_if(groups.begin(), groups.end(), [&](const group& g) { return g.key == k; });
    if (it == groups.end()) {
      if (r.by == grouping::value) {
        continue;  // a goal outside this page of the breakdown
      }
      it = groups.insert(
          std::upper_bound(groups.begin(), groups.end(), k,
                           [](const std::string& a, const group& g) { return a < g.key; }),
          group{k, {}});
    }
    it->counts.revenue = row[1].as<double>();
    it->counts.revenue_events = row[2].as<std::int64_t>();
  }
}

}  // namespace

std::string rollup_rows(const std::string& where) {
  const std::string columns =
      " r.value_id, r.bucket, r.pageviews, r.events, r.visits, r.bounces, r.duration_ms,"
      " r.revenue, r.visitors";
  return "(SELECT" + columns + " FROM rollups r WHERE " + where + " UNION ALL SELECT" + columns +
         " FROM rollups_settled r WHERE " + where + ") r";
}

std::optional<std::vector<group>> read_rollup_page_pruned(pqxx::transaction_base& tx,
                                                          const request& r) {
  const dimension d = dimension_read(r);
  return read_values_pruned(tx, r, d, key_prefix_of(*r.q, d));
}

std::vector<group> read_rollups(pqxx::transaction_base& tx, const request& r) {
  const query& q = *r.q;
  const dimension d = dimension_read(r);
  const std::string key_prefix = key_prefix_of(q, d);
  std::vector<group> groups;
  if (r.by == grouping::value) {
    if (auto pruned = read_rollup_page_pruned(tx, r)) {
      groups = std::move(*pruned);
    } else {
      // One more value than the page, when asked whether one follows it.
      auto values = read_values(tx, r, d, key_prefix, (q.page - 1) * q.limit,
                                q.limit + (r.more != nullptr ? 1 : 0));
      if (r.more != nullptr) {
        *r.more = values.size() > q.limit;
        values.resize(std::min(values.size(), q.limit));
      }
      for (auto& v : values) {
        groups.push_back(std::move(v.g));
      }
    }
  } else {
    parameters p;
    const std::string where = row_conditions(p, q, d, key_prefix);
    const std::string key = r.by == grouping::bucket ? bucket_label(q) : "''";
    for (const auto& row : p.exec(tx, "SELECT " + key + ", " + sums + " FROM " +
                                          rollup_rows(where) + " GROUP BY 1 ORDER BY 1")) {
      groups.push_back(group_of(row));
    }
  }
  if (r.revenue_tallies) {
    add_revenue(tx, r, groups);
  }
  return groups;
}

}  // namespace plumb::stats::detail
