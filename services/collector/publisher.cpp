#include "publisher.hpp"

#include <algorithm>
#include <limits>
#include <unordered_set>

#include "plumb/queue/stream.hpp"

namespace plumb::collector {
namespace {

using steady = std::chrono::steady_clock;

// Longest the thread sleeps with nothing to do: it still syncs the spool and retries Redis.
constexpr std::chrono::milliseconds idle_wake{100};

// Starts a spooled record that may be in the stream already (sent, never confirmed). Serialised
// entries start with '*' (a RESP array), so unmarked records, and spools written before the mark
// existed, read unchanged.
constexpr char maybe_appended_mark = '?';

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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
      found_in_stream_(registry.counter(
          "plumb_collector_replay_found_in_stream_total",
          "Spooled events whose XADD had been sent unconfirmed and that the replay found in the "
          "stream already, so it did not append them again.")),
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

bool publisher::submit(std::vector<std::string> records, completion done, bool maybe_appended) {
  bool was_idle = false;
  {
    const std::lock_guard lock(mutex_);
    if (stopping_ || queued_events_ + records.size() > options_.capacity) {
      return false;
    }
    was_idle = queue_.empty();
    queued_events_ += records.size();
    queue_.push_back({std::move(records), std::move(done), maybe_appended});
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

redis::connection& publisher::connection() {
  if (!redis_) {
    redis_ = std::make_unique<redis::connection>(
        options_.endpoint, redis::timeouts{options_.redis_timeout, options_.redis_timeout});
  }
  return *redis_;
}

publisher::append_outcome publisher::append_to_redis(std::span<const std::string> records) {
  if (records.empty()) {
    return {};
  }
  if (!redis_usable()) {
    return {0, false};
  }
  try {
    redis::connection& redis = connection();
    const auto started = steady::now();
    queue::append(redis, options_.keys, records);
    append_metrics_.latency.observe(std::chrono::duration<double>(steady::now() - started).count());
  } catch (const queue::append_error& e) {
    redis_failed(e);
    return {e.appended(), true};
  } catch (const redis::error& e) {  // connecting failed
    redis_failed(e);
    return {0, false};
  }
  if (redis_down_) {
    log_.info("redis reachable again");
    redis_down_ = false;
  }
  return {records.size(), false};
}

void publisher::store(std::vector<pending> batch) {
  std::vector<std::string> records;    // never sent: Redis first
  std::vector<std::string> to_spool;  // in order: unsent as they are, unconfirmed marked
  for (auto& p : batch) {
    for (auto& record : p.records) {
      if (p.maybe_appended) {
        to_spool.push_back(maybe_appended_mark + std::move(record));
      } else {
        records.push_back(std::move(record));
      }
    }
  }
  append_metrics_.batch.observe(static_cast<double>(records.size()));
  const append_outcome outcome = append_to_redis(records);
  append_metrics_.appended.inc(outcome.confirmed);
  // Only what Redis did not confirm goes to the spool; what was sent unconfirmed may have been
  // appended, so it is marked, for the replay to check first.
  for (std::size_t i = outcome.confirmed; i < records.size(); ++i) {
    to_spool.push_back(outcome.rest_sent ? maybe_appended_mark + std::move(records[i])
                                         : std::move(records[i]));
  }
  bool stored = to_spool.empty();
  if (!stored) {
    if (const auto written = spool_.append(to_spool)) {
      stored = true;
      spooled_.inc(to_spool.size());
    } else {
      log_.rate_limited(log::level::error, "spool", std::chrono::seconds(10),
                        "redis and the spool both refused events; they were dropped",
                        {{"events", to_spool.size()}, {"error", written.error().message}});
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
  // Which entries may be in the stream already, and since when: a marked entry since it was
  // received, every entry of a batch marked in flight (by a replay that failed or was killed)
  // since that mark.
  std::vector<std::string> entries;
  std::vector<std::string> uncertain_ids(batch->records.size());
  std::unordered_set<std::string> wanted;
  std::int64_t since = std::numeric_limits<std::int64_t>::max();
  entries.reserve(batch->records.size());
  for (std::size_t i = 0; i < batch->records.size(); ++i) {
    std::string& record = batch->records[i];
    const bool marked = !record.empty() && record.front() == maybe_appended_mark;
    entries.push_back(marked ? record.substr(1) : std::move(record));
    if (!marked && !batch->in_flight) {
      continue;
    }
    // An entry without an id cannot be found; it is appended as it is (workers dead-letter it).
    if (auto identity = queue::identify(entries.back())) {
      since = std::min(since, marked ? identity->received_ms
                                     : static_cast<std::int64_t>(*batch->in_flight));
      wanted.insert(identity->event_id);
      uncertain_ids[i] = std::move(identity->event_id);
    }
  }
  const std::int64_t now = wall_ms();
  std::unordered_set<std::string> found;
  try {
    found = queue::find_event_ids(connection(), options_.keys, since, now, wanted);
  } catch (const std::exception& e) {  // redis::error, or an error reply
    redis_failed(e);
    spool_.rewind();
    return;
  }
  std::vector<std::string> missing;
  missing.reserve(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (uncertain_ids[i].empty() || !found.contains(uncertain_ids[i])) {
      missing.push_back(std::move(entries[i]));
    }
  }
  // Durable before anything is sent: if this send fails or the process dies before the commit,
  // these entries come back marked and are looked for first. A batch marked before keeps its
  // older mark, since its entries may have been sent from then on.
  if (!missing.empty()) {
    const auto marked = spool_.mark_in_flight(
        batch->end, batch->in_flight.value_or(static_cast<std::uint64_t>(now)));
    if (!marked) {
      log_.rate_limited(log::level::error, "spool-mark", std::chrono::seconds(10),
                        "marking spooled events in flight failed", {{"error", marked.error().message}});
      spool_.rewind();
      return;
    }
  }
  const append_outcome outcome = append_to_redis(missing);
  if (outcome.confirmed < missing.size()) {
    spool_.rewind();  // the batch comes back marked in flight: its confirmed part is found then
    return;
  }
  if (const auto committed = spool_.commit(batch->end); !committed) {
    // Appended but not marked replayed: the batch comes back marked in flight and is found.
    log_.rate_limited(log::level::error, "spool-commit", std::chrono::seconds(10),
                      "committing the spool position failed", {{"error", committed.error().message}});
    spool_.rewind();
    return;
  }
  replayed_.inc(missing.size());
  found_in_stream_.inc(entries.size() - missing.size());
}

void publisher::check_memory() {
  if (steady::now() - memory_checked_at_ < options_.memory_check_interval || redis_down_) {
    return;
  }
  memory_checked_at_ = steady::now();
  try {
    const auto info = connection().command({"INFO", "memory"});
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
