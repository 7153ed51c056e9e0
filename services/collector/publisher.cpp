#include "publisher.hpp"

#include <algorithm>

#include "plumb/queue/stream.hpp"

namespace plumb::collector {
namespace {
// Backoff between reconnect attempts while Redis is down.
constexpr std::chrono::milliseconds min_backoff{50};
constexpr std::chrono::milliseconds max_backoff{2'000};
}  // namespace

publisher::publisher(publisher_options options, log::logger& log, metrics::registry& registry)
    : options_(std::move(options)),
      log_(log),
      appended_(registry.counter("plumb_collector_appended_total", "Events appended to the Redis stream.")),
      append_failures_(registry.counter("plumb_collector_append_failures_total",
                                        "Failed pipelined appends to Redis (retried).")) {
  registry.gauge_fn("plumb_collector_buffered_events", "Events waiting in memory for Redis.",
                    [this] { return static_cast<double>(buffered()); });
}

publisher::~publisher() { stop(std::chrono::milliseconds(0)); }

void publisher::start() { thread_ = std::thread([this] { run(); }); }

void publisher::stop(std::chrono::milliseconds grace) {
  {
    const std::lock_guard lock(mutex_);
    if (stopping_) {
      return;
    }
    stopping_ = true;
    deadline_ = std::chrono::steady_clock::now() + grace;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

bool publisher::enqueue(std::vector<events::fields> entries) {
  {
    const std::lock_guard lock(mutex_);
    if (stopping_ || buffer_.size() + entries.size() > options_.capacity) {
      return false;
    }
    for (auto& entry : entries) {
      buffer_.push_back(std::move(entry));
    }
  }
  wake_.notify_one();
  return true;
}

std::size_t publisher::buffered() const {
  const std::lock_guard lock(mutex_);
  return buffer_.size();
}

bool publisher::flush_batch(std::unique_ptr<redis::connection>& redis) {
  std::vector<events::fields> batch;
  {
    const std::lock_guard lock(mutex_);
    const auto n = std::min(buffer_.size(), options_.batch_size);
    batch.assign(std::make_move_iterator(buffer_.begin()),
                 std::make_move_iterator(buffer_.begin() + static_cast<std::ptrdiff_t>(n)));
  }
  try {
    if (!redis || redis->broken()) {
      redis = std::make_unique<redis::connection>(options_.endpoint);
    }
    queue::append(*redis, options_.keys, batch);
  } catch (const std::exception& e) {
    // Nothing was taken off the buffer: the same entries are retried. A partial append before
    // the failure is harmless, because workers store each event_id once.
    append_failures_.inc();
    healthy_.store(false);
    redis.reset();
    log_.rate_limited(log::level::warn, "redis-append", std::chrono::seconds(10),
                      "appending to redis failed; events stay buffered", {{"error", e.what()}});
    return false;
  }
  {
    const std::lock_guard lock(mutex_);
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(batch.size()));
  }
  appended_.inc(batch.size());
  healthy_.store(true);
  return true;
}

void publisher::run() {
  std::unique_ptr<redis::connection> redis;
  auto backoff = min_backoff;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !buffer_.empty(); });
      if (buffer_.empty() || (stopping_ && std::chrono::steady_clock::now() >= deadline_)) {
        if (!buffer_.empty()) {
          log_.error("stopping with events not appended to redis", {{"events", buffer_.size()}});
        }
        return;
      }
    }
    if (flush_batch(redis)) {
      backoff = min_backoff;
      continue;
    }
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, backoff, [this] {
      return stopping_ && std::chrono::steady_clock::now() >= deadline_;
    });
    backoff = std::min(backoff * 2, max_backoff);
  }
}

}  // namespace plumb::collector
