#pragma once
// Stores history (time-ordered events, e.g. generated ones) in PostgreSQL exactly as the stream
// would, without Redis: the ingest steps of ingest::batch, visits from visits::in_order_tracker,
// storage::event_writer. `plumbctl gen --bulk` and the stats tests load their data with it.

#include <cstddef>
#include <vector>

#include "plumb/events/event.hpp"
#include "plumb/ingest/enricher.hpp"
#include "plumb/storage/event_writer.hpp"
#include "plumb/visits/in_order_tracker.hpp"

namespace plumb::ingest {

class history_loader {
 public:
  // Events per transaction, as a worker's batch would be.
  static constexpr std::size_t batch_size = 5'000;

  // `conn` must outlive the loader. Referrer spam is judged by the built-in list.
  explicit history_loader(pqxx::connection& conn);

  // Stores `events`, which must be in time order, also after those of earlier calls (visits
  // continue across calls).
  void store(std::vector<events::event> events);

 private:
  pqxx::connection& conn_;
  enricher enricher_;
  visits::in_order_tracker tracker_;
  storage::event_writer writer_;
};

}  // namespace plumb::ingest
