#pragma once
// Private to libs/stats: the two sources a query reads (engine.hpp says when each applies) and
// the counts they return, from which engine.cpp derives every metric.

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "plumb/stats/query.hpp"

namespace plumb::stats::detail {

// Additive counts of one group (a bucket, a breakdown value, or the whole period).
struct tallies {
  std::int64_t visitors = 0;
  std::int64_t pageviews = 0;  // counted per event
  std::int64_t events = 0;     // custom events
  std::int64_t visits = 0;
  std::int64_t bounces = 0;
  std::int64_t duration_ms = 0;
  double revenue = 0;
  std::int64_t revenue_events = 0;
};

enum class grouping { none, bucket, value };

// What a source must compute: the groups, which tallies, and for value groupings the page.
struct request {
  const query* q = nullptr;
  grouping by = grouping::none;
  bool visit_tallies = false;    // visits, bounces, duration_ms
  bool event_tallies = false;    // visitors, pageviews, events
  bool revenue_tallies = false;  // revenue, revenue_events
  // Value groupings: sort by exits (exit pages) instead of visitors; page = q->limit rows from
  // (q->page - 1) * q->limit.
  bool sort_by_visits = false;
  // Value groupings read by read_rollups: when set, whether any value follows the page is stored
  // here (the page's last row then need not be ranked against the next one).
  bool* more = nullptr;
};

struct group {
  std::string key;
  tallies counts;
};

// Groups in order: buckets ascending (only those with data), values most visitors first.
std::vector<group> read_rollups(pqxx::transaction_base& tx, const request& r);
// The page of a value grouping that read_rollups returns, read only from the values whose upper
// bound of visitors can reach it; nullopt when too many can (read_rollups then sums every row).
std::optional<std::vector<group>> read_rollup_page_pruned(pqxx::transaction_base& tx,
                                                          const request& r);
std::vector<group> read_events(pqxx::transaction_base& tx, const request& r);
// Whether read_visit_rows answers `r`: views whose every filter, and breakdown if any, is a visit
// property, grouped by day or longer intervals, without revenue (visit_reader.cpp).
bool visit_rows_answer(const request& r);
std::vector<group> read_visit_rows(pqxx::transaction_base& tx, const request& r);

// Bound parameters of one statement: add() returns the placeholder ("$3").
class parameters {
 public:
  std::string add(std::string value) {
    values_.push_back(std::move(value));
    return "$" + std::to_string(values_.size());
  }
  std::string add(std::int64_t value) { return add(std::to_string(value)); }
  // A text[] parameter.
  std::string add_array(const std::vector<std::string>& values);
  pqxx::result exec(pqxx::transaction_base& tx, const std::string& sql) const;
  // exec() with planner settings (name, value) for this statement only (SET LOCAL, then RESET):
  // for statements where the planner's pick is slow, e.g. because it cannot know their row counts.
  pqxx::result exec_with(pqxx::transaction_base& tx,
                         std::initializer_list<std::pair<const char*, const char*>> settings,
                         const std::string& sql) const;

 private:
  std::vector<std::string> values_;
};

// The rows of both rollup tables (docs/ROLLUPS.md: `rollups` holds recent days, which workers
// update; `rollups_settled` older ones) as one relation `r` of value_id, bucket and the counters.
// `where`, on r's site_id, dimension and those columns, is repeated in each branch so each uses its
// own indexes.
std::string rollup_rows(const std::string& where);

// SQL of a dictionary subquery: the ids of the site's values `f` matches (for prop rows in
// rollups, `prefix` is "key\x1f"). `site` is the site id's placeholder.
std::string matching_ids(parameters& p, const std::string& site, const filter& f,
                         const std::string& prefix);

// SQL condition: `column` (a dictionary id) is among the values `f` matches, or not among them
// for a negated filter.
std::string id_condition(parameters& p, const std::string& site, const std::string& column,
                         const filter& f);

// A group from a row of key, visitors, pageviews, events, visits, bounces, duration_ms, revenue,
// revenue_events (the raw-event and visit-row readers' columns; the key not NULL).
group tallied_group(const pqxx::row& row);

// Replaces the groups' keys, dictionary ids, by their values, looked up apart (so no join in the
// statement that counted them may pick a loop over a large dictionary).
void label_ids(pqxx::transaction_base& tx, std::int64_t site_id, std::vector<group>& groups);

// Pageview goals (goals.cpp). Whether a filter names one (such queries read raw events).
bool has_page_goal_filter(const query& q);
// SQL condition on event alias `e` for a goal filter, pageview goals included; `pageview_id` is
// the placeholder of the "pageview" dictionary id.
std::string goal_condition(parameters& p, const std::string& site, const std::string& pageview_id,
                           const filter& f);
// Whether a read of `by` is an event:goal breakdown that lists pageview goals (q.page_goals), and
// that read: custom events from the source `rollups` names, the page goals beside them, paged.
bool lists_page_goals(const query& q, grouping by);
std::vector<group> read_goal_breakdown(pqxx::transaction_base& tx, const request& r, bool rollups);
// Under a goal filter naming a pageview goal, counts the matching pageviews as completions.
void count_goal_pageviews(const query& q, std::vector<group>& groups);

// to_char pattern of bucket labels and the date_trunc unit of an interval.
const char* label_format(interval step);
const char* trunc_unit(interval step);

}  // namespace plumb::stats::detail
