#pragma once
// The visit tracker's answers (tracker.hpp) computed in memory, for events processed in time
// order by one process: bulk loads of generated history (`plumbctl gen --bulk`), which go
// through the same ingest steps as the stream but without Redis. In time order a visitor only
// ever extends its latest visit, so the merging windows of visit.lua reduce to one visit per
// visitor key; the rules for ties (entry: earliest event, then smaller id; exit: latest, then
// larger id) and for midnight (previous_visitor_hash finds yesterday's visit) are the script's.
// A redis-tier test checks both trackers answer identically.

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "plumb/visits/tracker.hpp"

namespace plumb::visits {

class in_order_tracker {
 public:
  // One transition per hit, in order. Throws std::invalid_argument when a hit is older than one
  // applied before (this tracker is only right in time order).
  std::vector<transition> apply(std::span<const hit> hits);

 private:
  // A visit with what the tie rules need beyond its snapshot.
  struct visit {
    snapshot shown;
    std::string entry_event_id;
    std::string exit_event_id;
    std::int64_t interactive_events = 0;
  };
  using visitor_key = std::pair<std::int64_t, std::uint64_t>;  // site, visitor hash
  std::map<visitor_key, visit> latest_;                         // each visitor key's latest visit
  std::int64_t last_ms_ = 0;
  std::int64_t pruned_at_ms_ = 0;
};

}  // namespace plumb::visits
