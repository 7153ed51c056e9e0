#include "plumb/ingest/history_loader.hpp"

#include <iterator>

#include "plumb/ingest/batch.hpp"

namespace plumb::ingest {

history_loader::history_loader(pqxx::connection& conn)
    : conn_(conn), enricher_(enrich::spam_filter::builtin()) {}

void history_loader::store(std::vector<events::event> events) {
  for (std::size_t first = 0; first < events.size(); first += batch_size) {
    const auto end = std::min(first + batch_size, events.size());
    batch part(enricher_, {std::make_move_iterator(events.begin() + static_cast<std::ptrdiff_t>(first)),
                           std::make_move_iterator(events.begin() + static_cast<std::ptrdiff_t>(end))});
    const auto transitions = tracker_.apply(part.hits());
    const auto rows = part.stored(transitions);
    writer_.write(conn_, rows);
  }
}

}  // namespace plumb::ingest
