#pragma once
// Writes batches of events to PostgreSQL exactly once.

#include <cstdint>
#include <mutex>
#include <pqxx/pqxx>
#include <set>
#include <span>

#include "plumb/events/event.hpp"

namespace plumb::storage {

class event_writer {
 public:
  // Inserts the batch in one transaction: COPY into a session-local staging table, then
  // INSERT … ON CONFLICT DO NOTHING into `events`, so a redelivered event is never stored twice.
  // Creates missing monthly partitions first. Returns how many events were new. Throws pqxx
  // errors; on any throw nothing of the batch was committed.
  std::size_t write(pqxx::connection& conn, std::span<const events::event> batch);

 private:
  void ensure_partitions(pqxx::connection& conn, std::span<const events::event> batch);

  std::set<std::int64_t> known_months_;  // months since 1970-01 whose partition exists
};

}  // namespace plumb::storage
