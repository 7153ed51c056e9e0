#pragma once
// What one stored event adds to the rollups (DESIGN.md §4):
// - event dimensions (total, page, hostname, event, prop, revenue) count the event at its own
//   time;
// - visit dimensions (entry and exit page, source, campaign, country, browser, ...) count whole
//   visits at the visit's start, under the values of its first event. An event that extends a
//   visit moves the visit's totals: it subtracts the visit as it was (transition.before) and adds
//   the visit as it is now (transition.after). Summed over every event of a visit, in whatever
//   order workers saw them, that leaves exactly the finished visit.

#include <optional>
#include <vector>

#include "enricher.hpp"
#include "plumb/events/event.hpp"
#include "plumb/storage/event_writer.hpp"
#include "plumb/visits/tracker.hpp"

namespace plumb::worker {

// For a kept event: `visit` is its transition. For a dropped one: only the drop tally.
std::vector<storage::rollup_delta> rollup_deltas(const events::event& e, const enriched_event& x,
                                                 const visits::transition* visit);

}  // namespace plumb::worker
