#pragma once
// Ground truth for the worker tests: pushes datagen's events into the stream and compares the
// rollups in PostgreSQL with what datagen says they must be.

#include <cstdint>
#include <functional>
#include <map>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "plumb/datagen/generator.hpp"
#include "plumb/events/keys.hpp"

namespace plumb::e2e {

// Appends every event to the ingest stream, in chunks, as the collector would.
void push_events(const std::string& redis_url, const events::keys& keys,
                 const std::vector<events::event>& events);

// The wall-clock offset of each site's timezone (no DST in the zones the tests use), to bucket
// the truth into the same local hours as the rollups.
using utc_offsets = std::map<std::int64_t, std::int64_t>;  // site id -> offset in ms

struct comparison {
  std::vector<std::string> mismatches;  // one line each; empty when everything matched
  std::size_t rows_compared = 0;
};

// Compares every counter of every (site, local hour, dimension, value) exactly, and unique
// visitors within the sketch's error: exactly while a sketch is in hll's explicit mode, within 4
// standard errors beyond. Unless `visit_visitors_exact`, visit dimensions may hold more visitors than
// the truth (never fewer): when workers see a visit's events out of order, the sketches of the
// values and start hour the visit held before its earlier events arrived keep the visitor
// (sketches cannot subtract).
comparison compare_rollups(pqxx::connection& conn, const datagen::generated& data,
                           const utc_offsets& offsets, bool visit_visitors_exact);

// Waits until `expected` events are stored and no stream entry is pending; false on timeout.
bool wait_until_stored(pqxx::connection& conn, const std::string& redis_url,
                       const events::keys& keys, std::int64_t expected,
                       std::chrono::seconds timeout);

}  // namespace plumb::e2e
