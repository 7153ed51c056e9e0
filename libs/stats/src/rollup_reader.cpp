// The rollup source: sums of daily rows of one dimension, or of the hourly site totals
// (docs/ROLLUPS.md).
#include <algorithm>
#include <optional>

#include "plumb/stats/period.hpp"
#include "sources.hpp"

namespace plumb::stats::detail {
namespace {

using events::dimension;

// Every filter of a rollup read tests the dimension read, so each one restricts value_id.
std::string value_filters(parameters& p, const std::string& site, const query& q,
                          const std::string& prefix) {
  std::string sql;
  for (const auto& f : q.filters) {
    const bool negated = f.op == filter_op::is_not || f.op == filter_op::does_not_contain;
    sql += std::string(" AND r.value_id ") + (negated ? "NOT IN " : "IN ") +
           matching_ids(p, site, f, prefix);
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

std::string bucket_range(parameters& p, const query& q) {
  return " AND r.bucket >= " + p.add(q.range.first_day) + "::date AND r.bucket < " +
         p.add(q.range.last_day) + "::date + 1";
}

std::string bucket_label(const query& q) {
  return std::string("to_char(date_trunc('") + trunc_unit(q.step) + "', r.bucket), '" +
         label_format(q.step) + "')";
}

// The conditions on rows of dimension `d` that a query reads: its site, range and filters.
std::string row_conditions(parameters& p, const query& q, dimension d,
                           const std::string& key_prefix) {
  const std::string site = p.add(q.site_id);
  std::string where = "r.site_id = " + site +
                      " AND r.dimension = " + p.add(static_cast<std::int64_t>(d)) +
                      bucket_range(p, q) + value_filters(p, site, q, key_prefix);
  if (d == dimension::prop && q.filters.empty()) {
    where += " AND r.value_id IN (SELECT id FROM dimension_values WHERE site_id = " + site +
             " AND starts_with(value, " + p.add(key_prefix) + "))";
  }
  return where;
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

// The breakdown's values, best first, `count` of them from `offset`; with `only`, among those
// value ids alone.
std::vector<group> read_values(pqxx::transaction_base& tx, const request& r, dimension d,
                               const std::string& key_prefix, std::size_t offset, std::size_t count,
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
      ", g.pageviews, g.events, g.visits, g.bounces, g.duration_ms, g.visitors FROM"
      " (SELECT r.value_id, " +
      sums + " FROM " + rollup_rows(where) + " GROUP BY r.value_id ORDER BY " + order +
      " DESC, r.value_id LIMIT " + p.add(static_cast<std::int64_t>(count)) + " OFFSET " +
      p.add(static_cast<std::int64_t>(offset)) +
      ") g JOIN dimension_values v ON v.site_id = " + p.add(q.site_id) +
      " AND v.id = g.value_id ORDER BY g." + order + " DESC, g.value_id";
  // A breakdown may have tens of thousands of values, each aggregating a visitor sketch: the
  // planner cannot estimate the groups of the two tables' union and picks a hash aggregate that
  // spills to disk (several times slower than sorting by value). Only for this statement.
  tx.exec("SET LOCAL enable_hashagg = off");
  std::vector<group> groups;
  for (const auto& row : p.exec(tx, sql)) {
    groups.push_back(group_of(row));
  }
  tx.exec("SET LOCAL enable_hashagg = on");
  return groups;
}

// How many of the heaviest rows set the first weight threshold, per value a page shows.
constexpr std::int64_t threshold_rows_per_value = 20;
// More candidates than this and summing every row is as cheap.
constexpr std::size_t max_candidates = 2'000;
// Threshold rounds before giving up on pruning.
constexpr int max_threshold_rounds = 3;

// One page of a breakdown without summing every row of the range: a year of a busy dimension
// (a million pages) is millions of rows, but only values with heavy rows can be on the first
// pages. A row's weight (pageviews + events + visits) bounds its visitors and visits, and a value
// has at most one row per day in each table, so a value without a row of weight >= c has at most
// (c - 1) * row_days of either. Candidates are the values with such a row (the settled table's
// weight index finds them); when the last value of the page, among candidates, beats that bound,
// no other value can be on the page and the answer is exact. Otherwise c drops to what that value
// showed and the search repeats. nullopt: no threshold worth pruning with; sum every row instead.
std::optional<std::vector<group>> read_values_pruned(pqxx::transaction_base& tx, const request& r,
                                                     dimension d, const std::string& key_prefix) {
  const query& q = *r.q;
  const auto offset = (q.page - 1) * q.limit;
  const auto wanted = offset + q.limit;
  std::int64_t threshold = 0;
  std::int64_t row_days = 0;  // most rows one value can have in the range
  {
    parameters p;
    const std::string where = row_conditions(p, q, d, key_prefix);
    const auto row =
        p.exec(tx, "SELECT (SELECT r.weight FROM rollups_settled r WHERE " + where +
                       " ORDER BY r.weight DESC OFFSET " +
                       p.add(static_cast<std::int64_t>(wanted) * threshold_rows_per_value - 1) +
                       " LIMIT 1), (SELECT count(DISTINCT r.bucket) FROM rollups r"
                       " WHERE " +
                       where + ")")[0];
    if (row[0].is_null()) {
      return std::nullopt;  // few rows: summing them all is cheap
    }
    threshold = row[0].as<std::int64_t>();
    row_days = day_count(q.range) + row[1].as<std::int64_t>();
  }
  for (int round = 0; round < max_threshold_rounds && threshold >= 2; ++round) {
    parameters p;
    const std::string where = row_conditions(p, q, d, key_prefix);
    const std::string c = p.add(threshold);
    std::vector<std::int64_t> candidates;
    for (const auto& row :
         p.exec(tx, "SELECT r.value_id FROM rollups_settled r WHERE " + where +
                        " AND r.weight >= " + c + " UNION SELECT r.value_id FROM rollups r WHERE " +
                        where + " AND r.pageviews + r.events + r.visits >= " + c + " LIMIT " +
                        p.add(static_cast<std::int64_t>(max_candidates + 1)))) {
      candidates.push_back(row[0].as<std::int64_t>());
    }
    if (candidates.size() > max_candidates) {
      return std::nullopt;
    }
    auto best = read_values(tx, r, d, key_prefix, 0, wanted, &candidates);
    const std::int64_t last = best.size() < wanted ? 0
                              : r.sort_by_visits   ? best.back().counts.visits
                                                   : best.back().counts.visitors;
    if (last > (threshold - 1) * row_days) {
      best.erase(best.begin(),
                 best.begin() + static_cast<std::ptrdiff_t>(std::min(offset, best.size())));
      return best;
    }
    threshold = last / row_days;
  }
  return std::nullopt;
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

std::vector<group> read_rollups(pqxx::transaction_base& tx, const request& r) {
  const query& q = *r.q;
  const dimension d = dimension_read(r);
  const std::string key_prefix = d == dimension::prop ? prop_key(q) + events::value_separator : "";
  std::vector<group> groups;
  if (r.by == grouping::value) {
    auto pruned = read_values_pruned(tx, r, d, key_prefix);
    groups = pruned ? std::move(*pruned)
                    : read_values(tx, r, d, key_prefix, (q.page - 1) * q.limit, q.limit);
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
