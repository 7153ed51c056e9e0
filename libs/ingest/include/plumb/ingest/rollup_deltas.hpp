#pragma once
// What one stored event adds to the rollups (DESIGN.md §4):
// - event dimensions (total, page, hostname, event, prop, revenue) count the event at its own
//   time;
// - visit dimensions (entry and exit page, source, campaign, country, browser, ...) count whole
//   visits at the visit's start, under the values of its first event. An event that extends a
//   visit moves the visit's totals: it subtracts the visit as it was (transition.before) and adds
//   the visit as it is now (transition.after). Summed over every event of a visit, in whatever
//   order workers saw them, that leaves exactly the finished visit.

#include <cstdint>
#include <string_view>

#include "plumb/storage/event_writer.hpp"
#include "plumb/visits/tracker.hpp"

namespace plumb::ingest {

// Fills s.deltas (and s.owned_values) from the stored event `s`, received at `received_ms`.
// For a kept event: `visit` is its transition. For a dropped one (s.dropped): only the tally of
// `drop_reason`. The deltas' values are views into `s` (its values, name, revenue and
// owned_values), into `visit` and into `drop_reason`: all of them must outlive the write and
// stay where they are (so `s` must not move, e.g. its batch must not grow, until then).
void add_rollup_deltas(storage::stored_event& s, std::int64_t received_ms,
                       std::string_view drop_reason, const visits::transition* visit);

}  // namespace plumb::ingest
