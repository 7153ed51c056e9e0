#pragma once
// The worker loop: read a batch from the stream, store it in one PostgreSQL transaction, XACK
// only after COMMIT. A crash between COMMIT and XACK redelivers the batch; the writer's
// idempotent insert makes that harmless.
//
// Fairness: when the ingest stream is backlogged (a read returns a full batch), each site keeps
// at most its share of the batch (PLUMB_WORKER_SITE_SHARE_PERCENT); the excess moves to the
// deferred stream. While a site floods, a round reads several batches but processes only a share
// of that site's events, so the backlog ahead of other sites' events drains many times faster
// than events can be stored. Deferred events are processed with the spare capacity.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "plumb/events/keys.hpp"
#include "plumb/ingest/batch.hpp"
#include "plumb/ingest/enricher.hpp"
#include "plumb/log/logger.hpp"
#include "plumb/metrics/registry.hpp"
#include "plumb/pg/connection.hpp"
#include "plumb/queue/stream.hpp"
#include "plumb/queue/write_slots.hpp"
#include "plumb/redis/connection.hpp"
#include "plumb/storage/event_writer.hpp"
#include "plumb/storage/partitions.hpp"
#include "plumb/storage/rollup_settling.hpp"
#include "plumb/visits/tracker.hpp"
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
  // Partitions ahead and data retention (storage/partitions.hpp), every maintenance_interval.
  void maintain();
  // At most site_quota() events per site stay in the batch; the rest move to the deferred stream.
  std::vector<queue::message> take_fair_share(std::vector<queue::message> messages);
  std::size_t site_quota() const;
  // Enriches the decodable messages, runs them through the visit tracker, stores them with their
  // rollup deltas, acknowledges them, and dead-letters the undecodable rest. A batch PostgreSQL
  // rejects for its data is split in halves until the offending events are found alone. Claimed
  // entries can hold many more events than a batch: one transaction per batch_size events.
  void store(std::vector<queue::message> messages);
  void store_batch(std::span<queue::message> messages);
  // A late event (older than events::late_event_ms) may change a period the dashboard cached:
  // bumps its site's stats version (libs/stats/result_cache.hpp).
  void invalidate_cached_stats(std::span<const storage::stored_event> batch,
                               std::int64_t committed_ms);
  void store_or_bisect(std::span<const storage::stored_event> batch,
                       std::span<const queue::message> messages);
  metrics::counter& dropped_counter(std::string_view reason);
  void fail(const std::exception& e);

  const worker_config& cfg_;
  log::logger& log_;
  metrics::registry& registry_;
  ingest::enricher enricher_;
  std::unique_ptr<redis::connection> redis_;
  std::unique_ptr<pqxx::connection> pg_;
  std::unique_ptr<queue::consumer> consumer_;  // the ingest stream
  std::unique_ptr<queue::consumer> deferred_;  // the deferred stream (see take_fair_share)
  std::unique_ptr<visits::tracker> visits_;
  std::unique_ptr<queue::write_slots> write_slots_;  // only with PLUMB_WORKER_MAX_DB_WRITERS
  storage::event_writer writer_;
  // After a failure or restart, this consumer's unacknowledged entries are re-read first.
  bool drain_pending_ = true;
  // The last round deferred more than half a batch: a site floods the backlog.
  bool flooded_ = false;
  std::chrono::steady_clock::time_point claimed_at_{};
  std::chrono::steady_clock::time_point trimmed_at_{};
  std::chrono::steady_clock::time_point maintained_at_{};

  metrics::counter& stored_;
  metrics::counter& duplicates_;
  metrics::counter& dead_lettered_;
  metrics::counter& failures_;
  metrics::counter& trimmed_;
  metrics::counter& deferred_events_;
  metrics::histogram& freshness_;
  std::map<std::string, metrics::counter*, std::less<>> dropped_;  // by drop reason
  mutable std::mutex error_mutex_;
  std::string last_error_;
};

}  // namespace plumb::worker
