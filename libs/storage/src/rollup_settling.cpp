#include "plumb/storage/rollup_settling.hpp"

#include <string>

namespace plumb::storage {
namespace {

// One batch: the oldest-first rows below the cutoff, locked in key order (SKIP LOCKED: rows a
// worker or another settler holds now are left for the next run), deleted and merged.
constexpr const char* settle_batch_sql =
    "WITH moved AS ("
    "  DELETE FROM rollups WHERE ctid = ANY(ARRAY("
    "    SELECT ctid FROM rollups WHERE bucket < $1::timestamp"
    "     ORDER BY site_id, dimension, bucket, value_id LIMIT $2 FOR UPDATE SKIP LOCKED))"
    "  RETURNING *)"
    " INSERT INTO rollups_settled AS s (site_id, dimension, bucket, value_id, pageviews, events,"
    "                                  visits, bounces, duration_ms, revenue, visitors)"
    " SELECT site_id, dimension, bucket, value_id, pageviews, events, visits, bounces,"
    "        duration_ms, revenue, visitors FROM moved ORDER BY 1, 2, 3, 4"
    " ON CONFLICT (site_id, dimension, bucket, value_id) DO UPDATE SET"
    "   pageviews = s.pageviews + excluded.pageviews, events = s.events + excluded.events,"
    "   visits = s.visits + excluded.visits, bounces = s.bounces + excluded.bounces,"
    "   duration_ms = s.duration_ms + excluded.duration_ms, revenue = s.revenue + excluded.revenue,"
    "   visitors = hll_union(s.visitors, excluded.visitors)";

}  // namespace

std::int64_t settle_rollups(pqxx::connection& conn, core::time_point now) {
  const auto cutoff = core::format_utc(core::unix_ms(now - rollup_settle_age));
  std::int64_t total = 0;
  for (;;) {
    pqxx::work tx(conn);
    const auto moved = static_cast<std::int64_t>(
        tx.exec_params(settle_batch_sql, cutoff, settle_batch_rows).affected_rows());
    tx.commit();
    total += moved;
    if (moved < settle_batch_rows) {
      return total;
    }
  }
}

}  // namespace plumb::storage
