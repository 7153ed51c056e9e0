#pragma once
// Moves accepted events from HTTP handlers to the Redis stream without blocking I/O threads:
// handlers enqueue into a bounded in-memory buffer; one thread drains it in pipelined batches.
// While Redis is unreachable the buffer holds events and the thread retries with backoff.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "plumb/events/keys.hpp"
#include "plumb/events/stream_entry.hpp"
#include "plumb/log/logger.hpp"
#include "plumb/metrics/registry.hpp"
#include "plumb/redis/connection.hpp"

namespace plumb::collector {

struct publisher_options {
  redis::endpoint endpoint;
  events::keys keys;
  // Events held in memory while Redis is slow or down; beyond it new events are refused (counted).
  std::size_t capacity = 100'000;
  // Entries per pipelined round trip.
  std::size_t batch_size = 500;
};

class publisher {
 public:
  publisher(publisher_options options, log::logger& log, metrics::registry& registry);
  ~publisher();
  publisher(const publisher&) = delete;
  publisher& operator=(const publisher&) = delete;

  void start();
  // Appends what is buffered (retrying until `grace` runs out), then stops the thread.
  void stop(std::chrono::milliseconds grace);

  // Queues all entries or none; false when the buffer has no room for them.
  bool enqueue(std::vector<events::fields> entries);

  // True when the last append (or connection attempt) succeeded.
  bool redis_healthy() const { return healthy_.load(); }
  std::size_t buffered() const;

 private:
  void run();
  bool flush_batch(std::unique_ptr<redis::connection>& redis);

  publisher_options options_;
  log::logger& log_;
  metrics::counter& appended_;
  metrics::counter& append_failures_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<events::fields> buffer_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point deadline_{};
  std::atomic<bool> healthy_{false};
  std::thread thread_;
};

}  // namespace plumb::collector
