#pragma once
// A batch of decoded events on its way to storage::event_writer, in three steps:
//   ingest::batch b(enricher, events);        // enrich: values, or a drop reason
//   auto transitions = tracker.apply(b.hits());  // the kept events' visits (visits::tracker)
//   auto rows = b.stored(transitions);        // the writer's rows, with their rollup deltas
// The worker feeds it from the stream and the Redis tracker; `plumbctl gen --bulk` from the
// generator and visits::in_order_tracker. Same steps, same rows.

#include <span>
#include <string_view>
#include <vector>

#include "plumb/events/event.hpp"
#include "plumb/ingest/enricher.hpp"
#include "plumb/storage/event_writer.hpp"
#include "plumb/visits/tracker.hpp"

namespace plumb::ingest {

class batch {
 public:
  batch(const enricher& enricher, std::vector<events::event> events);

  // What the visit tracker needs of the kept events, in batch order.
  const std::vector<visits::hit>& hits() const { return hits_; }

  // The writer's rows, one per event in batch order; `transitions` answer hits(), in order. The
  // rows take the batch's strings (call once) and their deltas are views into the rows, this
  // batch and `transitions`: all three must outlive the write, and the rows must not move.
  std::vector<storage::stored_event> stored(std::span<const visits::transition> transitions);

  // Why event i is not counted; empty when it is kept.
  std::string_view drop_reason(std::size_t i) const { return enriched_[i].drop_reason; }
  std::size_t size() const { return events_.size(); }

 private:
  std::vector<events::event> events_;
  std::vector<enriched_event> enriched_;
  std::vector<visits::hit> hits_;
};

}  // namespace plumb::ingest
