// Pageview goals ("Visit /blog*", query.hpp): their conditions on raw events, their rows in
// event:goal breakdowns, and their completions under goal filters. Kept apart from the two readers
// so that the readers count custom events only and this file adds the pageview goals on top.
#include <algorithm>

#include "sources.hpp"

namespace plumb::stats {

std::optional<std::string_view> page_goal_pattern(std::string_view goal) {
  if (!goal.starts_with(page_goal_prefix) || goal.size() == page_goal_prefix.size()) {
    return std::nullopt;
  }
  return goal.substr(page_goal_prefix.size());
}

std::string page_goal_like(std::string_view pattern) {
  std::string like;
  like.reserve(pattern.size() + 4);
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '*') {
      if (i == 0 || pattern[i - 1] != '*') {  // "**" is the same as "*"
        like += '%';
      }
      continue;
    }
    if (c == '%' || c == '_' || c == '\\') {
      like += '\\';
    }
    like += c;
  }
  return like;
}

namespace detail {
namespace {

using events::dimension;

bool exact(filter_op op) {
  return op == filter_op::is || op == filter_op::is_not;
}
bool negated(filter_op op) {
  return op == filter_op::is_not || op == filter_op::does_not_contain;
}

bool names_page_goal(const filter& f) {
  return f.target.dimension == dimension::event && exact(f.op) &&
         std::any_of(f.values.begin(), f.values.end(),
                     [](const std::string& v) { return page_goal_pattern(v).has_value(); });
}

// Whether the goal `name` passes the query's goal filters (a breakdown lists only those).
bool goal_passes(const query& q, const std::string& name) {
  return std::all_of(q.filters.begin(), q.filters.end(), [&](const filter& f) {
    if (f.target.dimension != dimension::event) {
      return true;
    }
    const bool any = std::any_of(f.values.begin(), f.values.end(), [&](const std::string& v) {
      return exact(f.op) ? v == name : name.find(v) != std::string::npos;
    });
    return negated(f.op) ? !any : any;
  });
}

// The page goal rows from rollups: the page rows whose value matches, pageviews summed and
// visitor sketches unioned. A page row's sketch also holds visitors whose only event on that page
// that day was a custom event; custom events fire on a page already viewed, so this differs from
// the raw count only for a visit crossing midnight.
std::vector<group> page_goal_rollups(pqxx::transaction_base& tx, const query& q,
                                     const std::vector<std::string>& patterns) {
  std::vector<std::string> likes;
  for (const auto& pattern : patterns) {
    likes.push_back(page_goal_like(pattern));
  }
  parameters p;
  const std::string site = p.add(q.site_id);
  const std::string sql =
      "SELECT g.i, coalesce(sum(r.pageviews), 0),"
      " coalesce(round(hll_cardinality(hll_union_agg(r.visitors))), 0)::bigint"
      " FROM unnest(" +
      p.add_array(likes) +
      ") WITH ORDINALITY g(pattern, i)"
      " JOIN dimension_values v ON v.site_id = " +
      site +
      " AND v.value LIKE g.pattern"
      " JOIN " +
      rollup_rows("r.site_id = " + site +
                  " AND r.dimension = " + p.add(static_cast<std::int64_t>(dimension::page)) +
                  " AND r.bucket >= " + p.add(q.range.first_day) + "::date AND r.bucket < " +
                  p.add(q.range.last_day) + "::date + 1") +
      " ON r.value_id = v.id GROUP BY g.i";
  std::vector<group> out;
  for (const auto& row : p.exec(tx, sql)) {
    group g;
    g.key = std::string(page_goal_prefix) + patterns.at(row[0].as<std::size_t>() - 1);
    g.counts.pageviews = row[1].as<std::int64_t>();
    g.counts.events = g.counts.pageviews;
    g.counts.visitors = row[2].as<std::int64_t>();
    out.push_back(std::move(g));
  }
  return out;
}

// One page goal's row from raw events: the query without its goal filters, under the goal alone.
group page_goal_events(pqxx::transaction_base& tx, const request& r, const std::string& name) {
  query one = *r.q;
  one.breakdown.reset();
  std::erase_if(one.filters,
                [](const filter& f) { return f.target.dimension == dimension::event; });
  filter goal;
  goal.target.dimension = dimension::event;
  goal.values.push_back(name);
  one.filters.push_back(std::move(goal));
  request each = r;
  each.q = &one;
  each.by = grouping::none;
  each.sort_by_visits = false;
  auto groups = read_events(tx, each);
  group g{name, groups.empty() ? tallies{} : groups.front().counts};
  g.counts.events = g.counts.pageviews;
  return g;
}

}  // namespace

bool has_page_goal_filter(const query& q) {
  return std::any_of(q.filters.begin(), q.filters.end(), names_page_goal);
}

std::string goal_condition(parameters& p, const std::string& site, const std::string& pageview_id,
                           const filter& f) {
  if (!exact(f.op)) {
    return std::string("e.name_id") + (negated(f.op) ? " NOT IN " : " IN ") +
           matching_ids(p, site, f, "");
  }
  filter names = f;
  names.op = filter_op::is;
  names.values.clear();
  std::vector<std::string> likes;
  for (const auto& v : f.values) {
    if (const auto pattern = page_goal_pattern(v)) {
      likes.push_back(page_goal_like(*pattern));
    } else {
      names.values.push_back(v);
    }
  }
  std::string any = "false";
  if (!names.values.empty()) {
    any += " OR e.name_id IN " + matching_ids(p, site, names, "");
  }
  if (!likes.empty()) {
    any += " OR (e.name_id = " + pageview_id +
           " AND e.page_id IN (SELECT id FROM dimension_values WHERE site_id = " + site +
           " AND value LIKE ANY(" + p.add_array(likes) + ")))";
  }
  return std::string(negated(f.op) ? "NOT " : "") + "(" + any + ")";
}

bool lists_page_goals(const query& q, grouping by) {
  return by == grouping::value && q.breakdown && q.breakdown->dimension == dimension::event &&
         !q.page_goals.empty();
}

std::vector<group> read_goal_breakdown(pqxx::transaction_base& tx, const request& r, bool rollups) {
  const query& q = *r.q;
  // Custom event rows up to the end of the asked page; merged with the page goals, then paged.
  query head = q;
  head.page = 1;
  head.limit = q.page * q.limit;
  request custom = r;
  custom.q = &head;
  auto groups = rollups ? read_rollups(tx, custom) : read_events(tx, custom);
  std::vector<std::string> patterns;
  for (const auto& pattern : q.page_goals) {
    if (goal_passes(q, std::string(page_goal_prefix) + pattern)) {
      patterns.push_back(pattern);
    }
  }
  if (rollups && !patterns.empty()) {
    for (auto& g : page_goal_rollups(tx, q, patterns)) {
      groups.push_back(std::move(g));
    }
  } else {
    for (const auto& pattern : patterns) {
      auto g = page_goal_events(tx, r, std::string(page_goal_prefix) + pattern);
      if (g.counts.pageviews > 0) {
        groups.push_back(std::move(g));
      }
    }
  }
  std::stable_sort(groups.begin(), groups.end(), [](const group& a, const group& b) {
    return a.counts.visitors > b.counts.visitors;
  });
  const auto skip = std::min(groups.size(), (q.page - 1) * q.limit);
  groups.erase(groups.begin(), groups.begin() + static_cast<std::ptrdiff_t>(skip));
  groups.resize(std::min(groups.size(), q.limit));
  return groups;
}

void count_goal_pageviews(const query& q, std::vector<group>& groups) {
  // Under a goal filter naming a pageview goal, the pageviews left are that goal's completions.
  if (std::none_of(q.filters.begin(), q.filters.end(),
                   [](const filter& f) { return names_page_goal(f) && f.op == filter_op::is; })) {
    return;
  }
  for (auto& g : groups) {
    g.counts.events += g.counts.pageviews;
  }
}

}  // namespace detail
}  // namespace plumb::stats
