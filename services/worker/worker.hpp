#pragma once
// The worker loop: read a batch from the stream, store it in one PostgreSQL transaction, XACK
// only after COMMIT. A crash between COMMIT and XACK redelivers the batch; the writer's
// idempotent insert makes that harmless.

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "plumb/events/keys.hpp"
#include "plumb/log/logger.hpp"
#include "plumb/metrics/registry.hpp"
#include "plumb/pg/connection.hpp"
#include "plumb/queue/stream.hpp"
#include "plumb/redis/connection.hpp"
#include "plumb/storage/event_writer.hpp"
#include "worker_config.hpp"

namespace plumb::worker {

class worker {
 public:
  worker(const worker_config& cfg, log::logger& log, metrics::registry& registry);

  // Processes batches until `should_stop` returns true (checked between batches).
  void run(const std::function<bool()>& should_stop);

  // One read-store-ack round; returns how many stream entries it handled. Throws on
  // infrastructure failures (nothing is acknowledged then). Public for tests.
  std::size_t process_once();

  // Empty when the last batch went through; otherwise what failed.
  std::string last_error() const;

 private:
  void connect();
  // Stores the decodable messages, acknowledges them, dead-letters the rest. A batch PostgreSQL
  // rejects for its data is split in halves until the offending events are found alone.
  void store(std::vector<queue::message> messages);
  void store_or_bisect(std::span<const events::event> batch, std::span<const queue::message> messages);
  void fail(const std::exception& e);

  const worker_config& cfg_;
  log::logger& log_;
  std::unique_ptr<redis::connection> redis_;
  std::unique_ptr<pqxx::connection> pg_;
  std::unique_ptr<queue::consumer> consumer_;
  storage::event_writer writer_;
  // After a failure or restart, this consumer's unacknowledged entries are re-read first.
  bool drain_pending_ = true;
  std::chrono::steady_clock::time_point claimed_at_{};
  std::chrono::steady_clock::time_point trimmed_at_{};

  metrics::counter& stored_;
  metrics::counter& duplicates_;
  metrics::counter& dead_lettered_;
  metrics::counter& failures_;
  metrics::counter& trimmed_;
  mutable std::mutex error_mutex_;
  std::string last_error_;
};

}  // namespace plumb::worker
