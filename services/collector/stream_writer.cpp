#include "stream_writer.hpp"

namespace plumb::collector {
namespace {

using steady = std::chrono::steady_clock;

}  // namespace

stream_writer::stream_writer(publisher& fallback, stream_writer_options options, log::logger& log,
                             metrics::registry& registry)
    : fallback_(fallback),
      options_(std::move(options)),
      log_(log),
      xadd_(options_.keys.events_stream()),
      append_metrics_(registry),
      handed_over_(registry.counter("plumb_collector_handed_to_publisher_total",
                                    "Events sent on the I/O threads' Redis pipeline but not "
                                    "confirmed (failure, timeout, error "
                                    "reply or shutdown), handed to the publisher thread.")) {
  registry.gauge_fn(
      "plumb_collector_pipelined_events",
      "Events sent on the I/O threads' Redis pipeline and not yet confirmed.", [this] {
        return pipeline_ == nullptr ? 0.0 : static_cast<double>(pipeline_->pending_commands());
      });
}

stream_writer::~stream_writer() {
  detach();
}

void stream_writer::attach(boost::asio::io_context& ioc) {
  // A write carries only XADDs, so its commands are the batch's events.
  auto observe = [this](std::size_t events, steady::duration took) {
    append_metrics_.batch.observe(static_cast<double>(events));
    append_metrics_.latency.observe(std::chrono::duration<double>(took).count());
  };
  pipeline_ = std::make_unique<redis::async_pipeline>(
      ioc, options_.endpoint,
      redis::async_pipeline_options{options_.redis_timeout, options_.retry_interval,
                                    options_.single_threaded, std::move(observe)});
}

void stream_writer::detach() {
  if (pipeline_ != nullptr) {
    pipeline_->close();  // runs the completions, which hand unconfirmed entries to the publisher
    pipeline_.reset();
  }
}

bool stream_writer::redis_refused_recently() const {
  return steady::now().time_since_epoch().count() < bypass_until_.load(std::memory_order_relaxed);
}

bool stream_writer::submit(std::vector<std::string> records, publisher::completion done) {
  redis::async_pipeline* pipeline = pipeline_.get();
  if (pipeline == nullptr || !pipeline->ready() || fallback_.over_watermark() ||
      redis_refused_recently()) {
    return fallback_.submit(std::move(records), std::move(done));
  }
  if (pipeline->pending_commands() + records.size() > options_.capacity) {
    return false;
  }
  std::string protocol;
  if (!xadd_.encode(protocol, records)) {
    // Cannot happen with queue::serialize; the publisher reports it (and spools the entry).
    return fallback_.submit(std::move(records), std::move(done));
  }
  const std::size_t count = records.size();
  pipeline->submit(std::move(protocol), count,
                   [this, records = std::move(records), done = std::move(done)](
                       std::span<const redis::reply> replies, std::string_view failure) mutable {
                     finish(records, done, replies, failure);
                   });
  return true;
}

void stream_writer::finish(std::vector<std::string>& records, publisher::completion& done,
                           std::span<const redis::reply> replies, std::string_view failure) {
  std::vector<std::string> unconfirmed;
  std::string_view refusal;
  // An XADD without a reply may have run; one Redis refused did not.
  const bool maybe_appended = replies.size() < records.size();
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (i < replies.size() && !replies[i].is_error()) {
      continue;
    }
    if (i < replies.size() && refusal.empty()) {
      refusal = replies[i].str;
    }
    unconfirmed.push_back(std::move(records[i]));
  }
  append_metrics_.appended.inc(records.size() - unconfirmed.size());
  if (unconfirmed.empty()) {
    done(true);
    return;
  }
  if (!refusal.empty()) {
    // Redis refused an XADD (typically OOM): stop sending it more until the retry interval has
    // passed; meanwhile the publisher decides (it spools while Redis keeps refusing).
    bypass_until_.store((steady::now() + options_.retry_interval).time_since_epoch().count(),
                        std::memory_order_relaxed);
  }
  log_.rate_limited(log::level::warn, "redis-pipeline", std::chrono::seconds(10),
                    "redis pipeline did not confirm events; the publisher stores them",
                    {{"error", std::string(refusal.empty() ? failure : refusal)},
                     {"events", unconfirmed.size()}});
  handed_over_.inc(unconfirmed.size());
  // The hit is answered by whoever stores the rest; the confirmed entries are not sent again.
  if (!fallback_.submit(std::move(unconfirmed), done, maybe_appended)) {
    done(false);
  }
}

bool stream_writer::healthy() const {
  return pipeline_ready() || fallback_.healthy();
}

}  // namespace plumb::collector
