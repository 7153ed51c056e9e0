#pragma once
// Moves accepted events from HTTP handlers to the Redis stream. A hit is answered 202 only after
// its events are appended to Redis or, when Redis is unreachable, slower than its timeout or
// above its memory watermark, written to the local spool; so an accepted hit survives a SIGKILL of
// the collector and outages of Redis. One thread does all its Redis and spool I/O in batches:
// under load, one round trip (or one write) carries hundreds of events. The spool is replayed
// into Redis, oldest first, whenever Redis is usable again. While Redis is healthy, hits do not
// come here: stream_writer pipelines them to Redis from the I/O thread and hands this thread only
// what Redis did not confirm (stream_writer.hpp).
//
// Exactly once in the stream: an XADD that was sent but never confirmed (the connection broke,
// Redis shut down, the reply came after the timeout) may or may not have run. Such entries are
// never sent again blindly: they are spooled marked as uncertain, and so are batches of the
// spool while they are being replayed (spool::mark_in_flight, durable before the XADDs go out,
// so a SIGKILL mid-replay leaves them marked). Before replaying uncertain entries the thread
// looks for their event_ids in the stream (queue::find_event_ids) and appends only the missing
// ones; entries never sent are appended without a check. Not covered: an entry that workers
// consumed and trimmed before the check is appended again (workers store each event_id once),
// and a Redis stalled past the timeout could still run the old connection's buffered XADDs after
// the check (the check runs at least retry_interval later, on a Redis that answers again).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "plumb/events/keys.hpp"
#include "plumb/log/logger.hpp"
#include "plumb/metrics/registry.hpp"
#include "plumb/redis/connection.hpp"
#include "plumb/spool/spool.hpp"
#include "append_metrics.hpp"

namespace plumb::collector {

struct publisher_options {
  redis::endpoint endpoint;
  events::keys keys;
  spool::options spool;
  // Events waiting for the publisher thread; beyond it hits are refused with 503 (counted).
  std::size_t capacity = 100'000;
  // Entries per pipelined round trip or spool write.
  std::size_t batch_size = 1'000;
  // A Redis round trip slower than this counts as a failure: the batch goes to the spool.
  std::chrono::milliseconds redis_timeout{1'000};
  // After a failure, Redis is tried again this often (meanwhile events go straight to the spool).
  std::chrono::milliseconds retry_interval{1'000};
  // Above this fraction of Redis maxmemory, events are spooled instead (noeviction Redis would
  // refuse them soon anyway, and a full Redis also stalls the workers).
  double memory_watermark = 0.9;
  // How often Redis memory use is checked.
  std::chrono::milliseconds memory_check_interval{5'000};
};

class publisher {
 public:
  // Called once, on the publisher thread: true when the events are in Redis or the spool.
  using completion = std::function<void(bool stored)>;

  publisher(publisher_options options, log::logger& log, metrics::registry& registry);
  ~publisher();
  publisher(const publisher&) = delete;
  publisher& operator=(const publisher&) = delete;

  void start();
  // Stores everything submitted so far (to Redis or the spool, for up to `grace`), syncs the
  // spool, and stops the thread. Later submits are refused.
  void stop(std::chrono::milliseconds grace);

  // Queues serialised stream entries (queue::serialize). `maybe_appended`: their XADDs were sent
  // and not confirmed, so they may be in the stream already; they are spooled and appended only
  // if the replay's check does not find them. False — and `done` is not called — when the queue
  // is full or the publisher stopped.
  bool submit(std::vector<std::string> records, completion done, bool maybe_appended = false);

  // Healthy unless Redis failed and the spool is refusing events too.
  bool healthy() const { return healthy_.load(); }
  // True while Redis is above its memory watermark (checked by this thread): new events should
  // come here, to be spooled, rather than go to Redis another way.
  bool over_watermark() const { return over_watermark_.load(std::memory_order_relaxed); }

 private:
  struct pending {
    std::vector<std::string> records;
    completion done;
    bool maybe_appended = false;
  };
  // What append_to_redis() achieved: a confirmed prefix, and whether the rest was sent at all.
  struct append_outcome {
    std::size_t confirmed = 0;
    bool rest_sent = false;
  };
  void run();
  // Takes up to batch_size events' worth of submissions.
  std::vector<pending> take_batch();
  void store(std::vector<pending> batch);
  // How many of `records` (a prefix) Redis confirmed; all of them unless Redis failed.
  append_outcome append_to_redis(std::span<const std::string> records);
  // The publisher's connection, connected if need be; throws redis::error.
  redis::connection& connection();
  void replay_spool();
  void check_memory();
  bool redis_usable() const;
  void redis_failed(const std::exception& e);

  publisher_options options_;
  log::logger& log_;
  spool::spool spool_;
  std::unique_ptr<redis::connection> redis_;
  std::chrono::steady_clock::time_point redis_failed_at_{};
  std::chrono::steady_clock::time_point memory_checked_at_{};
  bool redis_down_ = false;
  std::atomic<bool> over_watermark_{false};

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<pending> queue_;
  std::size_t queued_events_ = 0;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point deadline_{};
  std::atomic<bool> healthy_{true};
  std::thread thread_;

  append_metrics append_metrics_;
  metrics::counter& spooled_;
  metrics::counter& replayed_;
  metrics::counter& found_in_stream_;
  metrics::counter& redis_failures_;
};

}  // namespace plumb::collector
