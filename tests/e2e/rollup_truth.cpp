#include "rollup_truth.hpp"

#include <cmath>
#include <sstream>
#include <thread>

#include "plumb/core/clock.hpp"
#include "plumb/queue/stream.hpp"
#include "plumb/redis/connection.hpp"
#include "plumb/storage/event_writer.hpp"

namespace plumb::e2e {
namespace {

// hll's default precision (log2m = 11): relative standard error 1.04 / sqrt(2048).
constexpr double hll_standard_error = 0.023;
// Sketch estimates above the explicit threshold must fall within this many standard errors.
constexpr double allowed_errors = 4;

bool is_visit_dimension(events::dimension d) {
  return static_cast<int>(d) >= static_cast<int>(events::dimension::entry_page);
}

struct db_row {
  datagen::counters counters;
  bool exact_sketch = true;  // an explicit-mode sketch: its cardinality is exact
  std::int64_t visitors = 0;
};

std::string describe(const datagen::rollup_key& key) {
  std::ostringstream out;
  std::string value = std::get<3>(key);
  for (auto& c : value) {
    if (c == events::value_separator) {
      c = '|';
    }
  }
  out << "site " << std::get<0>(key) << " bucket " << core::format_utc(std::get<1>(key)) << " "
      << events::name_of(std::get<2>(key)) << " '" << value << "'";
  return out.str();
}

}  // namespace

void push_events(const std::string& redis_url, const events::keys& keys,
                 const std::vector<events::event>& events) {
  redis::connection conn(*redis::endpoint::parse_url(redis_url));
  constexpr std::size_t chunk = 1'000;
  std::vector<std::string> records;
  for (std::size_t i = 0; i < events.size(); ++i) {
    records.push_back(queue::serialize(events[i]));
    if (records.size() == chunk || i + 1 == events.size()) {
      queue::append(conn, keys, records);
      records.clear();
    }
  }
}

bool wait_until_stored(pqxx::connection& conn, const std::string& redis_url,
                       const events::keys& keys, std::int64_t expected,
                       std::chrono::seconds timeout) {
  redis::connection redis(*redis::endpoint::parse_url(redis_url));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pqxx::work tx(conn);
    const auto stored =
        tx.exec1("SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM dropped_events)")[0]
            .as<std::int64_t>();
    tx.commit();
    const auto pending =
        redis.command({"XPENDING", keys.events_stream(), events::keys::worker_group}).elements;
    if (stored >= expected && !pending.empty() && pending[0].integer == 0) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return false;
}

comparison compare_rollups(pqxx::connection& conn, const datagen::generated& data,
                           const utc_offsets& offsets, bool visit_visitors_exact) {
  const auto expected = datagen::expected_stored_rollups(
      data, [&](std::int64_t site, std::int64_t ms) { return ms + offsets.at(site); });

  pqxx::work tx(conn);
  std::map<datagen::rollup_key, db_row> actual;
  for (const auto& r : tx.exec(
           // A row may be split between the two rollup tables (a late event of a settled day):
           // what reports read is their sum.
           "SELECT r.site_id, (extract(epoch FROM r.bucket) * 1000)::bigint, r.dimension, v.value,"
           "  sum(r.pageviews)::bigint, sum(r.events)::bigint, sum(r.visits)::bigint,"
           "  sum(r.bounces)::bigint, sum(r.duration_ms)::bigint,"
           "  (sum(r.revenue) * 1000000)::bigint,"
           "  round(hll_cardinality(hll_union_agg(r.visitors)))::bigint,"
           "  hll_type(hll_union_agg(r.visitors)) <= 2"  // undefined, empty or explicit: exact
           " FROM (SELECT site_id, bucket, dimension, value_id, pageviews, events, visits, bounces,"
           "         duration_ms, revenue, visitors FROM rollups"
           "       UNION ALL SELECT site_id, bucket, dimension, value_id, pageviews, events,"
           "         visits, bounces, duration_ms, revenue, visitors FROM rollups_settled) r"
           " JOIN dimension_values v ON v.site_id = r.site_id AND v.id = r.value_id"
           " WHERE r.dimension <> " +
           std::to_string(static_cast<int>(events::dimension::dropped)) + " GROUP BY 1, 2, 3, 4")) {
    const datagen::rollup_key key{r[0].as<std::int64_t>(), r[1].as<std::int64_t>(),
                                  static_cast<events::dimension>(r[2].as<int>()),
                                  r[3].as<std::string>()};
    auto& row = actual[key];
    row.counters.pageviews = r[4].as<std::int64_t>();
    row.counters.events = r[5].as<std::int64_t>();
    row.counters.visits = r[6].as<std::int64_t>();
    row.counters.bounces = r[7].as<std::int64_t>();
    row.counters.duration_ms = r[8].as<std::int64_t>();
    row.counters.revenue_micros = r[9].as<std::int64_t>();
    row.visitors = r[10].as<std::int64_t>();
    row.exact_sketch = r[11].as<bool>();
  }

  comparison result;
  auto mismatch = [&](const datagen::rollup_key& key, const std::string& what, std::int64_t want,
                      std::int64_t got) {
    if (result.mismatches.size() < 50) {
      result.mismatches.push_back(describe(key) + ": " + what + " expected " +
                                  std::to_string(want) + ", stored " + std::to_string(got));
    } else if (result.mismatches.size() == 50) {
      result.mismatches.push_back("... (more)");
    }
  };
  const datagen::counters none;
  for (const auto& [key, want] : expected) {
    ++result.rows_compared;
    const auto it = actual.find(key);
    const db_row got = it == actual.end() ? db_row{} : it->second;
    const auto& g = got.counters;
    if (g.pageviews != want.pageviews)
      mismatch(key, "pageviews", want.pageviews, g.pageviews);
    if (g.events != want.events)
      mismatch(key, "events", want.events, g.events);
    if (g.visits != want.visits)
      mismatch(key, "visits", want.visits, g.visits);
    if (g.bounces != want.bounces)
      mismatch(key, "bounces", want.bounces, g.bounces);
    if (g.duration_ms != want.duration_ms)
      mismatch(key, "duration_ms", want.duration_ms, g.duration_ms);
    if (g.revenue_micros != want.revenue_micros)
      mismatch(key, "revenue_micros", want.revenue_micros, g.revenue_micros);
    const auto truth = static_cast<std::int64_t>(want.visitors.size());
    const auto sketch_slack =
        got.exact_sketch ? 0
                         : static_cast<std::int64_t>(
                               std::ceil(allowed_errors * hll_standard_error *
                                         static_cast<double>(std::max(truth, got.visitors))));
    // Exit pages count exits, not visitors: a visit's exit page changes with every event, and a
    // sketch cannot forget the visitor on the page it left.
    const bool counts_visitors = std::get<2>(key) != events::dimension::exit_page;
    // Out of order, visit rows may also hold visitors of values their visits held only briefly.
    const bool surplus_allowed = !visit_visitors_exact && is_visit_dimension(std::get<2>(key));
    if (counts_visitors && (got.visitors < truth - sketch_slack ||
                            (!surplus_allowed && got.visitors > truth + sketch_slack))) {
      mismatch(key, "visitors", truth, got.visitors);
    }
  }
  // Rows the truth does not have must hold nothing but (for visit dimensions) a visitor whose
  // visit moved on.
  for (const auto& [key, got] : actual) {
    if (expected.contains(key)) {
      continue;
    }
    auto counters = got.counters;
    counters.visitors.clear();
    if (!(counters == none)) {
      mismatch(key, "unexpected row, visits + pageviews + events", 0,
               counters.visits + counters.pageviews + counters.events);
    } else if (!is_visit_dimension(std::get<2>(key)) && got.visitors != 0) {
      mismatch(key, "unexpected row: visitors", 0, got.visitors);
    }
  }
  return result;
}

}  // namespace plumb::e2e
