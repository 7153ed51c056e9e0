#pragma once
// Monthly partitions of events and dropped_events, and per-site data retention
// (sites.retention_days): the maintenance a scheduled job runs, and the partition creation the
// event writer runs on demand. Every function takes a connection with no transaction open.

#include <array>
#include <compare>
#include <cstdint>
#include <pqxx/pqxx>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "plumb/core/clock.hpp"

namespace plumb::storage {

// Tables partitioned by RANGE (received_at), one partition per UTC month, named
// <table>_yYYYYmMM (events_y2023m11). Every month gets a partition of each.
inline constexpr std::array<std::string_view, 2> partitioned_tables{"events", "dropped_events"};

// A UTC calendar month.
struct month {
  int year = 1970;
  unsigned number = 1;  // 1-12

  // Months since January of year 0: consecutive months have consecutive indexes.
  std::int64_t index() const { return std::int64_t{year} * 12 + (number - 1); }
  static month from_index(std::int64_t index) {
    return {static_cast<int>(index / 12), static_cast<unsigned>(index % 12) + 1};
  }
  auto operator<=>(const month&) const = default;
};

// The UTC month containing this instant (milliseconds since the Unix epoch).
month month_of(std::int64_t unix_ms);
// "<table>_yYYYYmMM"; with a table from partitioned_tables, a safe SQL identifier.
std::string partition_name(std::string_view table, month m);

// Creates the partitions of both tables for each of these months, under the same
// transaction-scoped advisory lock as every other partition change, so any number of processes
// may call it at once. Idempotent. Returns the names of the partitions this call created.
// Throws pqxx errors.
std::vector<std::string> ensure_partitions(pqxx::connection& conn, std::span<const month> months);

// Most months ensure_partitions(conn, from_ms, to_ms) creates in one call: a range beyond this is
// a bug (a timestamp in ms mistaken for seconds...), not a plan, and would create thousands of
// tables. Ten years.
inline constexpr std::int64_t max_partition_months_per_call = 120;

// Partitions of both tables for every month from the one containing from_ms to the one containing
// to_ms, inclusive. Does nothing when to_ms < from_ms; throws std::invalid_argument when the range
// spans more than max_partition_months_per_call months, pqxx errors on database failure.
void ensure_partitions(pqxx::connection& conn, std::int64_t from_ms, std::int64_t to_ms);

// The partitions of now's month and of the months_ahead months after it (so writers never pay for
// DDL on their hot path, and a month change never races several workers). Returns the names
// created by this call (empty when all existed). Throws std::invalid_argument when months_ahead is
// negative or beyond max_partition_months_per_call.
std::vector<std::string> create_partitions_ahead(pqxx::connection& conn, core::time_point now,
                                                 int months_ahead = 2);

// Rows apply_retention deletes per statement (and transaction): row locks, WAL and replication lag
// per step stay bounded, and the writers' rollup upserts never wait long behind it.
inline constexpr std::int64_t retention_batch_rows = 10'000;

struct retention_result {
  // False when another process was already applying retention; this call then did nothing.
  bool ran = false;
  std::int64_t events_deleted = 0;          // rows DELETEd (not counting dropped partitions)
  std::int64_t dropped_events_deleted = 0;  // likewise, of dropped_events
  std::int64_t rollups_deleted = 0;
  std::int64_t visit_rows_deleted = 0;  // visits and visit_days rows
  std::vector<std::string> partitions_dropped;
  // Partitions that could have been dropped but whose table stayed locked by other sessions
  // beyond a short lock timeout; the next run retries them.
  std::vector<std::string> partitions_busy;
};

// Enforces sites.retention_days as of `now`. For each site with a retention, the cutoff is
// now - retention_days * 24 h, and:
//  - its events and dropped_events received before the cutoff are deleted, retention_batch_rows
//    per statement;
//  - its rollup rows (days, and hours of the hourly totals; both rollup tables) that end at or
//    before the cutoff in the site's time zone are deleted (the day or hour containing the cutoff
//    is kept, as it still counts newer events);
// then each monthly partition that ends at or before the latest cutoff is dropped if, with its
// table locked, it holds no row at all of a site whose cutoff is before the partition's end:
// rows of sites without retention, or of sites no longer in `sites`, keep their partition. (A
// partition is checked without locks first, then VACUUMed so the locked re-check is short; the
// locked step gives up after short lock and statement timeouts and reports it in partitions_busy.)
// Partitions not named by partition_name() are never touched. Any number of processes may call
// it: one runs (a session-level advisory lock), the others return at once with ran == false.
// Throws pqxx errors; whatever was committed before a throw is consistent (every deletion is one
// that retention requires), and the next run carries on.
retention_result apply_retention(pqxx::connection& conn, core::time_point now);

}  // namespace plumb::storage
