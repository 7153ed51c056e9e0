#include "plumb/storage/rollup_settling.hpp"

#include <string>

namespace plumb::storage {
namespace {

// One batch: the oldest-first rows below the cutoff, locked in key order (SKIP LOCKED: rows a
// worker or another settler holds now are left for the next run), deleted and merged. Returns
// the rows moved and the local days whose site total moved, as two parallel arrays (text): every
// event adds to its day's total, so those are the days with events that settled now.
constexpr const char* settle_batch_sql =
    "WITH moved AS ("
    "  DELETE FROM rollups WHERE ctid = ANY(ARRAY("
    "    SELECT ctid FROM rollups WHERE bucket < $1::timestamp"
    "     ORDER BY site_id, dimension, bucket, value_id LIMIT $2 FOR UPDATE SKIP LOCKED))"
    "  RETURNING *),"
    " settled AS ("
    " INSERT INTO rollups_settled AS s (site_id, dimension, bucket, value_id, pageviews, events,"
    "                                  visits, bounces, duration_ms, revenue, visitors)"
    " SELECT site_id, dimension, bucket, value_id, pageviews, events, visits, bounces,"
    "        duration_ms, revenue, visitors FROM moved ORDER BY 1, 2, 3, 4"
    " ON CONFLICT (site_id, dimension, bucket, value_id) DO UPDATE SET"
    "   pageviews = s.pageviews + excluded.pageviews, events = s.events + excluded.events,"
    "   visits = s.visits + excluded.visits, bounces = s.bounces + excluded.bounces,"
    "   duration_ms = s.duration_ms + excluded.duration_ms, revenue = s.revenue + excluded.revenue,"
    "   visitors = hll_union(s.visitors, excluded.visitors)"
    " RETURNING site_id, dimension, bucket)"
    " SELECT (SELECT count(*) FROM settled),"
    "        coalesce(array_agg(site_id ORDER BY site_id, day), '{}')::text,"
    "        coalesce(array_agg(day ORDER BY site_id, day), '{}')::text"
    "   FROM (SELECT DISTINCT site_id, bucket::date AS day FROM settled WHERE dimension = 0) d";

// The visit rows of those days, built again from their events (migration 0012): every visit of
// the day, the late events' included, and none left from a build in another time zone.
constexpr const char* clear_visit_days_sql =
    "DELETE FROM visits v USING unnest($1::bigint[], $2::date[]) d (site_id, day)"
    " WHERE v.site_id = d.site_id AND v.day = d.day";
constexpr const char* build_visit_days_sql =
    "WITH d AS (SELECT d.site_id, d.day, s.timezone"
    "             FROM unnest($1::bigint[], $2::date[]) d (site_id, day)"
    "             JOIN sites s ON s.id = d.site_id),"
    " built AS (INSERT INTO visits"
    "   SELECT v.* FROM d, LATERAL plumb_visits_of(d.site_id, d.day, d.day, d.timezone) v)"
    " INSERT INTO visit_days (site_id, day, timezone) SELECT site_id, day, timezone FROM d"
    " ON CONFLICT (site_id, day) DO UPDATE SET timezone = excluded.timezone";

}  // namespace

std::int64_t settle_rollups(pqxx::connection& conn, core::time_point now) {
  const auto cutoff = core::format_utc(core::unix_ms(now - rollup_settle_age));
  std::int64_t total = 0;
  for (;;) {
    pqxx::work tx(conn);
    const auto batch = tx.exec_params1(settle_batch_sql, cutoff, settle_batch_rows);
    const auto moved = batch[0].as<std::int64_t>();
    const auto sites = batch[1].as<std::string>();
    const auto days = batch[2].as<std::string>();
    if (days != "{}") {
      tx.exec_params(clear_visit_days_sql, sites, days);
      tx.exec_params(build_visit_days_sql, sites, days);
    }
    tx.commit();
    total += moved;
    if (moved < settle_batch_rows) {
      return total;
    }
  }
}

}  // namespace plumb::storage
