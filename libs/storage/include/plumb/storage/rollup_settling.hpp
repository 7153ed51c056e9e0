#pragma once
// Moving rollup rows of past days from `rollups`, which workers update, to `rollups_settled`,
// which carries the indexes long-range reports need (migration 0006, docs/ROLLUPS.md). Every
// counter is a sum and every sketch a union, so a row may be split between the tables at any
// moment (a late event of a settled day) and reports still add up: settling changes how fast a
// report is, never what it says.

#include <chrono>
#include <cstdint>
#include <pqxx/pqxx>

#include "plumb/core/clock.hpp"

namespace plumb::storage {

// Rows whose bucket starts more than this before now (local wall clock against UTC, so up to 14
// hours either way) are settled: days that late events rarely reach any more.
inline constexpr std::chrono::hours rollup_settle_age{48};

// Rows settle_rollups moves per transaction: row locks and WAL per step stay bounded.
inline constexpr std::int64_t settle_batch_rows = 10'000;

// Moves every row of `rollups` older than now - rollup_settle_age into `rollups_settled`, merging
// into rows already there, settle_batch_rows per transaction, locking rows in the key order the
// workers' upserts use (no deadlock cycles). In the same transaction it builds the visit rows of
// each local day whose site total moved (migration 0012), anew when a late event moved it again. Any number of processes may call it at once. Takes a
// connection with no transaction open; returns the rows moved. Throws pqxx errors; what was
// committed before a throw is consistent.
std::int64_t settle_rollups(pqxx::connection& conn, core::time_point now);

}  // namespace plumb::storage
