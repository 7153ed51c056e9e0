#include "worker.hpp"

#include <thread>

namespace plumb::worker {
namespace {
// Pause after a failed round before retrying, so an outage does not become a busy loop.
constexpr std::chrono::milliseconds retry_pause{500};
}  // namespace

worker::worker(const worker_config& cfg, log::logger& log, metrics::registry& registry)
    : cfg_(cfg),
      log_(log),
      stored_(registry.counter("plumb_worker_events_total", "Stream entries by outcome.", R"(outcome="stored")")),
      duplicates_(registry.counter("plumb_worker_events_total", "Stream entries by outcome.",
                                   R"(outcome="duplicate")")),
      dead_lettered_(registry.counter("plumb_worker_events_total", "Stream entries by outcome.",
                                      R"(outcome="dead_lettered")")),
      failures_(registry.counter("plumb_worker_batch_failures_total",
                                 "Batches that failed and will be retried.")) {}

std::string worker::last_error() const {
  const std::lock_guard lock(error_mutex_);
  return last_error_;
}

void worker::connect() {
  if (!redis_ || redis_->broken()) {
    consumer_.reset();
    // The blocking read waits up to batch_wait: the command timeout must outlast it.
    redis_ = std::make_unique<redis::connection>(
        cfg_.common.redis, redis::timeouts{std::chrono::milliseconds(2'000),
                                   cfg_.batch_wait + std::chrono::milliseconds(5'000)});
    consumer_ = std::make_unique<queue::consumer>(*redis_, cfg_.common.keys, cfg_.consumer_name);
    consumer_->ensure_group();
  }
  if (!pg_ || !pg_->is_open()) {
    pg_ = pg::connect({cfg_.pg_dsn, cfg_.statement_timeout, "plumb-worker"});
  }
}

std::size_t worker::process_once() {
  connect();
  auto messages = drain_pending_ ? consumer_->read_pending(cfg_.batch_size)
                                 : consumer_->read_new(cfg_.batch_size, cfg_.batch_wait);
  if (drain_pending_ && messages.empty()) {
    drain_pending_ = false;
    return 0;
  }
  std::vector<events::event> batch;
  std::vector<queue::message> accepted;
  batch.reserve(messages.size());
  for (auto& m : messages) {
    auto decoded = events::decode(m.fields);
    if (!decoded) {
      // Malformed entries can never succeed: park them with their error instead of retrying.
      consumer_->dead_letter(m, decoded.error().field + ": " + decoded.error().message);
      dead_lettered_.inc();
      log_.rate_limited(log::level::warn, "dead-letter", std::chrono::seconds(10),
                        "dead-lettered a malformed stream entry",
                        {{"stream_id", m.stream_id}, {"field", decoded.error().field}});
      continue;
    }
    batch.push_back(std::move(*decoded));
    accepted.push_back(std::move(m));
  }
  const std::size_t inserted = writer_.write(*pg_, batch);
  consumer_->ack(accepted);
  stored_.inc(inserted);
  duplicates_.inc(batch.size() - inserted);
  return messages.size();
}

void worker::fail(const std::exception& e) {
  failures_.inc();
  drain_pending_ = true;
  if (redis_ && redis_->broken()) {
    redis_.reset();
  }
  if (pg_ && !pg_->is_open()) {
    pg_.reset();
  }
  {
    const std::lock_guard lock(error_mutex_);
    last_error_ = e.what();
  }
  log_.rate_limited(log::level::warn, "batch", std::chrono::seconds(10),
                    "batch failed; it will be retried", {{"error", e.what()}});
}

void worker::run(const std::function<bool()>& should_stop) {
  while (!should_stop()) {
    try {
      process_once();
      const std::lock_guard lock(error_mutex_);
      last_error_.clear();
    } catch (const std::exception& e) {
      // The one boundary for a unit of work: nothing was acknowledged, so nothing is lost.
      fail(e);
      std::this_thread::sleep_for(retry_pause);
    }
  }
}

}  // namespace plumb::worker
