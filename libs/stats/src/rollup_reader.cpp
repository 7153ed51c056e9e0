// The rollup source: sums of daily rows of one dimension, or of the hourly site totals
// (docs/ROLLUPS.md).
#include <algorithm>

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
  std::string sql =
      "SELECT " + key + ", coalesce(sum(r.revenue), 0)::float8, coalesce(sum(r.events), 0)" +
      " FROM rollups r JOIN dimension_values v ON v.site_id = r.site_id AND v.id = r.value_id" +
      " WHERE r.site_id = " + site +
      " AND r.dimension = " + p.add(static_cast<std::int64_t>(dimension::revenue)) +
      bucket_range(p, q);
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

std::vector<group> read_rollups(pqxx::transaction_base& tx, const request& r) {
  const query& q = *r.q;
  const dimension d = dimension_read(r);
  const std::string key_prefix = d == dimension::prop ? prop_key(q) + events::value_separator : "";
  parameters p;
  const std::string site = p.add(q.site_id);
  std::string where = " WHERE r.site_id = " + site +
                      " AND r.dimension = " + p.add(static_cast<std::int64_t>(d)) +
                      bucket_range(p, q) + value_filters(p, site, q, key_prefix);
  if (d == dimension::prop && q.filters.empty()) {
    where += " AND r.value_id IN (SELECT id FROM dimension_values WHERE site_id = " + site +
             " AND starts_with(value, " + p.add(key_prefix) + "))";
  }
  const std::string sums =
      "coalesce(sum(r.pageviews), 0) AS pageviews, coalesce(sum(r.events), 0) AS events,"
      " coalesce(sum(r.visits), 0) AS visits, coalesce(sum(r.bounces), 0) AS bounces,"
      " coalesce(sum(r.duration_ms), 0) AS duration_ms,"
      " coalesce(round(hll_cardinality(hll_union_agg(r.visitors))), 0)::bigint AS visitors";
  std::string sql;
  if (r.by == grouping::value) {
    const std::string order = r.sort_by_visits ? "visits" : "visitors";
    const std::string text = key_prefix.empty()
                                 ? "v.value"
                                 : "substr(v.value, " + std::to_string(key_prefix.size() + 1) + ")";
    sql = "SELECT " + text +
          ", g.pageviews, g.events, g.visits, g.bounces, g.duration_ms, g.visitors FROM"
          " (SELECT r.value_id, " +
          sums + " FROM rollups r" + where + " GROUP BY r.value_id" + " ORDER BY " + order +
          " DESC, r.value_id LIMIT " + p.add(static_cast<std::int64_t>(q.limit)) + " OFFSET " +
          p.add(static_cast<std::int64_t>((q.page - 1) * q.limit)) + ") g" +
          " JOIN dimension_values v ON v.site_id = " + site + " AND v.id = g.value_id" +
          " ORDER BY g." + order + " DESC, g.value_id";
  } else {
    const std::string key = r.by == grouping::bucket ? bucket_label(q) : "''";
    sql = "SELECT " + key + ", " + sums + " FROM rollups r" + where + " GROUP BY 1 ORDER BY 1";
  }
  std::vector<group> groups;
  for (const auto& row : p.exec(tx, sql)) {
    group g;
    g.key = row[0].as<std::string>();
    g.counts.pageviews = row[1].as<std::int64_t>();
    g.counts.events = row[2].as<std::int64_t>();
    g.counts.visits = row[3].as<std::int64_t>();
    g.counts.bounces = row[4].as<std::int64_t>();
    g.counts.duration_ms = row[5].as<std::int64_t>();
    g.counts.visitors = row[6].as<std::int64_t>();
    groups.push_back(std::move(g));
  }
  if (r.revenue_tallies) {
    add_revenue(tx, r, groups);
  }
  return groups;
}

}  // namespace plumb::stats::detail
