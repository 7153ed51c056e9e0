#include "publisher.hpp"

#include "plumb/queue/stream.hpp"

namespace plumb::collector {
namespace {

using steady = std::chrono::steady_clock;

// Longest the thread sleeps with nothing to do: it still syncs the spool and retries Redis.
constexpr std::chrono::milliseconds idle_wake{100};

// "used_memory:123\r\n...maxmemory:456\r\n" -> used / max, or 0 when Redis has no limit.
double memory_fraction(const std::string& info) {
  auto field = [&info](std::string_view name) -> double {
    const auto at = info.find("\n" + std::string(name) + ":");
    return at == std::string::npos ? 0.0 : std::strtod(info.c_str() + at + name.size() + 2, nullptr);
  };
  const double max = field("maxmemory");
  return max > 0 ? field("used_memory") / max : 0.0;
}

}  // namespace

publisher::publisher(publisher_options options, log::logger& log, metrics::registry& registry)
    : options_(std::move(options)),
      log_(log),
      spool_(options_.spool),
      append_metrics_(registry),
      spooled_(registry.counter("plumb_collector_spooled_total", "Events written to the local spool.")),
      replayed_(registry.counter("plumb_collector_replayed_total",
                                 "Spooled events replayed into the Redis stream.")),
      redis_failures_(registry.counter("plumb_collector_redis_failures_total",
                                       "Failed or slow Redis round trips (the batch was spooled).")) {
  registry.gauge_fn("plumb_collector_queued_events", "Events waiting for the publisher thread.", [this] {
    const std::lock_guard lock(mutex_);
    return static_cast<double>(queued_events_);
  });
  registry.gauge_fn("plumb_collector_spool_bytes", "Bytes of spool segments on disk.",
                    [this] { return static_cast<double>(spool_.stats().bytes_on_disk); });
  registry.gauge_fn("plumb_collector_spool_pending_events", "Spooled events not yet replayed.",
                    [this] { return static_cast<double>(spool_.stats().records_pending); });
  const auto recovered = spool_.stats();
  if (recovered.records_pending > 0 || recovered.torn_tails > 0 || recovered.corrupt_records > 0) {
    log_.warn("spool recovered", {{"pending_events", recovered.records_pending},
                                  {"torn_tails", recovered.torn_tails},
                                  {"corrupt_records", recovered.corrupt_records}});
  }
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
    deadline_ = steady::now() + grace;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

bool publisher::submit(std::vector<std::string> records, completion done) {
  bool was_idle = false;
  {
    const std::lock_guard lock(mutex_);
    if (stopping_ || queued_events_ + records.size() > options_.capacity) {
      return false;
    }
    was_idle = queue_.empty();
    queued_events_ += records.size();
    queue_.push_back({std::move(records), std::move(done)});
  }
  // Only the first submission after the thread emptied the queue needs to wake it.
  if (was_idle) {
    wake_.notify_one();
  }
  return true;
}

std::vector<publisher::pending> publisher::take_batch() {
  std::vector<pending> batch;
  std::size_t events = 0;
  std::size_t taken = 0;
  while (taken < queue_.size() && (events == 0 || events + queue_[taken].records.size() <= options_.batch_size)) {
    events += queue_[taken].records.size();
    ++taken;
  }
  batch.assign(std::make_move_iterator(queue_.begin()),
               std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(taken)));
  queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(taken));
  queued_events_ -= events;
  return batch;
}

bool publisher::redis_usable() const {
  return !over_watermark_ && (!redis_down_ || steady::now() - redis_failed_at_ >= options_.retry_interval);
}

void publisher::redis_failed(const std::exception& e) {
  redis_failures_.inc();
  if (!redis_down_) {
    log_.warn("redis unavailable; spooling events", {{"error", e.what()}});
  }
  redis_down_ = true;
  redis_failed_at_ = steady::now();
  redis_.reset();
}

std::size_t publisher::append_to_redis(std::span<const std::string> records) {
  if (!redis_usable()) {
    return 0;
  }
  try {
    if (!redis_) {
      redis_ = std::make_unique<redis::connection>(
          options_.endpoint, redis::timeouts{options_.redis_timeout, options_.redis_timeout});
    }
    const auto started = steady::now();
    queue::append(*redis_, options_.keys, records);
    append_metrics_.latency.observe(std::chrono::duration<double>(steady::now() - started).count());
  } catch (const queue::append_error& e) {
    redis_failed(e);
    return e.appended();
  } catch (const redis::error& e) {  // connecting failed
    redis_failed(e);
    return 0;
  }
  if (redis_down_) {
    log_.info("redis reachable again");
    redis_down_ = false;
  }
  return records.size();
}

void publisher::store(std::vector<pending> batch) {
  std::vector<std::string> records;
  for (auto& p : batch) {
    std::move(p.records.begin(), p.records.end(), std::back_inserter(records));
  }
  append_metrics_.batch.observe(static_cast<double>(records.size()));
  const std::size_t appended = append_to_redis(records);
  append_metrics_.appended.inc(appended);
  // Only what Redis did not confirm goes to the spool. An entry Redis ran but whose reply was
  // lost is among them and reaches the stream twice (same event_id; workers store it once):
  // re-sending is the only way never to lose one.
  const std::span<const std::string> rest = std::span<const std::string>(records).subspan(appended);
  bool stored = rest.empty();
  if (!stored) {
    if (const auto written = spool_.append(rest)) {
      stored = true;
      spooled_.inc(rest.size());
    } else {
      log_.rate_limited(log::level::error, "spool", std::chrono::seconds(10),
                      "redis and the spool both refused events; they were dropped",
                        {{"events", rest.size()}, {"error", written.error().message}});
    }
  }
  healthy_.store(stored);
  for (auto& p : batch) {
    p.done(stored);
  }
}

void publisher::replay_spool() {
  if (spool_.stats().records_pending == 0 || !redis_usable()) {
    return;
  }
  auto batch = spool_.next_batch(options_.batch_size);
  if (!batch) {
    log_.rate_limited(log::level::error, "spool-read", std::chrono::seconds(10),
                      "reading the spool failed", {{"error", batch.error().message}});
    return;
  }
  if (batch->records.empty()) {
    return;
  }
  const std::size_t appended = append_to_redis(batch->records);
  if (appended < batch->records.size()) {
    // Committing a partial batch is not possible; the confirmed part comes back once more.
    spool_.rewind();
    return;
  }
  if (const auto committed = spool_.commit(batch->end); !committed) {
    // Replayed but not marked: they come back once more, which idempotent workers absorb.
    log_.rate_limited(log::level::error, "spool-commit", std::chrono::seconds(10),
                      "committing the spool position failed", {{"error", committed.error().message}});
    spool_.rewind();
    return;
  }
  replayed_.inc(batch->records.size());
}

void publisher::check_memory() {
  if (steady::now() - memory_checked_at_ < options_.memory_check_interval || redis_down_) {
    return;
  }
  memory_checked_at_ = steady::now();
  try {
    if (!redis_) {
      redis_ = std::make_unique<redis::connection>(
          options_.endpoint, redis::timeouts{options_.redis_timeout, options_.redis_timeout});
    }
    const auto info = redis_->command({"INFO", "memory"});
    const bool over = !info.is_error() && memory_fraction(info.str) > options_.memory_watermark;
    if (over != over_watermark_) {
      log_.warn(over ? "redis above its memory watermark; spooling events"
                     : "redis below its memory watermark again");
    }
    over_watermark_ = over;
  } catch (const std::exception& e) {
    redis_failed(e);
  }
}

void publisher::run() {
  for (;;) {
    std::vector<pending> batch;
    {
      std::unique_lock lock(mutex_);
      const bool spool_waiting = spool_.stats().records_pending > 0;
      wake_.wait_for(lock, idle_wake, [&] { return stopping_ || !queue_.empty() || (spool_waiting && redis_usable()); });
      if (stopping_ && (queue_.empty() || steady::now() >= deadline_)) {
        break;
      }
      batch = take_batch();
    }
    if (!batch.empty()) {
      store(std::move(batch));
    }
    replay_spool();
    check_memory();
    if (const auto synced = spool_.sync(); !synced) {
      log_.rate_limited(log::level::error, "spool-sync", std::chrono::seconds(10),
                        "syncing the spool failed", {{"error", synced.error().message}});
    }
  }
  // Past the grace period: whatever is left goes to the spool, never silently away.
  std::vector<pending> rest;
  {
    const std::lock_guard lock(mutex_);
    rest = std::move(queue_);
    queue_.clear();
    queued_events_ = 0;
  }
  redis_down_ = true;
  redis_failed_at_ = steady::now();
  if (!rest.empty()) {
    store(std::move(rest));
  }
  if (const auto synced = spool_.sync(); !synced) {
    log_.error("syncing the spool at shutdown failed", {{"error", synced.error().message}});
  }
}

}  // namespace plumb::collector
