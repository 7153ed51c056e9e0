#include "stream_writer.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <iterator>
#include <utility>

#include "hit_request.hpp"

namespace plumb::collector {
namespace {

using steady = std::chrono::steady_clock;

static_assert(max_domains <= queue::max_events_per_entry, "a hit's events fit in one entry");

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
  registry.gauge_fn("plumb_collector_pipelined_events",
                    "Events taken by the I/O threads' Redis pipeline and not yet confirmed.",
                    [this] { return static_cast<double>(unconfirmed_events_.load()); });
}

stream_writer::~stream_writer() {
  detach();
}

void stream_writer::attach(boost::asio::io_context& ioc) {
  auto observe = [this](std::size_t, steady::duration took) {
    append_metrics_.latency.observe(std::chrono::duration<double>(took).count());
  };
  ioc_ = &ioc;
  pipeline_ = std::make_unique<redis::async_pipeline>(
      ioc, options_.endpoint,
      redis::async_pipeline_options{options_.redis_timeout, options_.retry_interval,
                                    options_.single_threaded, std::move(observe)});
}

void stream_writer::detach() {
  auto never_sent = [this] {
    const std::lock_guard lock(staged_mutex_);
    return take_staged_locked();
  }();
  if (pipeline_ != nullptr) {
    pipeline_->close();  // runs the completions, which hand unconfirmed entries to the publisher
    pipeline_.reset();
  }
  hand_over(never_sent, "closed", false);
}

bool stream_writer::redis_refused_recently() const {
  return steady::now().time_since_epoch().count() < bypass_until_.load(std::memory_order_relaxed);
}

bool stream_writer::submit(std::vector<std::string> records, publisher::completion done) {
  redis::async_pipeline* pipeline = pipeline_.get();
  if (pipeline == nullptr || !pipeline->ready() || fallback_.over_watermark() ||
      redis_refused_recently() || records.size() > queue::max_events_per_entry) {
    return fallback_.submit(std::move(records), std::move(done));
  }
  if (unconfirmed_events_.load() + records.size() > options_.capacity) {
    return false;
  }
  staged_entry full;
  {
    const std::lock_guard lock(staged_mutex_);
    if (staged_.records.size() + records.size() > queue::max_events_per_entry) {
      full = take_staged_locked();
    }
    unconfirmed_events_ += records.size();
    staged_.hits.emplace_back(records.size(), std::move(done));
    std::move(records.begin(), records.end(), std::back_inserter(staged_.records));
    if (!flush_posted_) {
      // Behind the handlers that are ready now: the hits they take share the entry.
      flush_posted_ = true;
      boost::asio::post(*ioc_, [this] { flush_staged(); });
    }
  }
  send(std::move(full));
  return true;
}

void stream_writer::flush_staged() {
  auto entry = [this] {
    const std::lock_guard lock(staged_mutex_);
    flush_posted_ = false;
    return take_staged_locked();
  }();
  send(std::move(entry));
}

stream_writer::staged_entry stream_writer::take_staged_locked() {
  return std::exchange(staged_, {});
}

void stream_writer::send(staged_entry entry) {
  if (entry.records.empty()) {
    return;
  }
  std::string protocol;
  if (pipeline_ == nullptr || !xadd_.encode_entry(protocol, entry.records)) {
    // Detached meanwhile; or a malformed record, which cannot happen with queue::serialize (the
    // publisher reports it, and spools the entry).
    hand_over(entry, "not sent", false);
    return;
  }
  append_metrics_.batch.observe(static_cast<double>(entry.records.size()));
  pipeline_->submit(std::move(protocol), 1,
                    [this, entry = std::move(entry)](std::span<const redis::reply> replies,
                                                     std::string_view failure) mutable {
                      finish(entry, replies, failure);
                    });
}

void stream_writer::finish(staged_entry& entry, std::span<const redis::reply> replies,
                           std::string_view failure) {
  if (!replies.empty() && !replies[0].is_error()) {
    unconfirmed_events_ -= entry.records.size();
    append_metrics_.appended.inc(entry.records.size());
    for (auto& [events, done] : entry.hits) {
      done(true);
    }
    return;
  }
  if (!replies.empty()) {
    // Redis refused the XADD (typically OOM): stop sending it more until the retry interval has
    // passed; meanwhile the publisher decides (it spools while Redis keeps refusing).
    bypass_until_.store((steady::now() + options_.retry_interval).time_since_epoch().count(),
                        std::memory_order_relaxed);
  }
  // An XADD without a reply may have run; one Redis refused did not.
  hand_over(entry, replies.empty() ? failure : replies[0].str, replies.empty());
}

void stream_writer::hand_over(staged_entry& entry, std::string_view why, bool maybe_appended) {
  if (entry.records.empty()) {
    return;
  }
  unconfirmed_events_ -= entry.records.size();
  log_.rate_limited(log::level::warn, "redis-pipeline", std::chrono::seconds(10),
                    "redis pipeline did not confirm events; the publisher stores them",
                    {{"error", std::string(why)}, {"events", entry.records.size()}});
  handed_over_.inc(entry.records.size());
  // Each hit is answered by whoever stores its events.
  auto next = entry.records.begin();
  for (auto& [events, done] : entry.hits) {
    std::vector<std::string> records(
        std::make_move_iterator(next),
        std::make_move_iterator(next + static_cast<std::ptrdiff_t>(events)));
    next += static_cast<std::ptrdiff_t>(events);
    if (!fallback_.submit(std::move(records), done, maybe_appended)) {
      done(false);
    }
  }
}

bool stream_writer::healthy() const {
  return pipeline_ready() || fallback_.healthy();
}

}  // namespace plumb::collector
