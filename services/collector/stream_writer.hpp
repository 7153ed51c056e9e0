#pragma once
// The collector's fast path to the Redis stream: XADDs pipelined on the HTTP I/O threads' own
// event loop (redis::async_pipeline), so a hit needs no hand-off to another thread while Redis is
// healthy. The hits of one turn of the event loop go in one stream entry (up to
// queue::max_events_per_entry events): Redis, which every collector shares, runs one XADD instead
// of one per event, and workers read and acknowledge one entry. Everything else stays
// with the publisher thread: when the pipeline is not connected, Redis refused a command or sits
// above its memory watermark, hits go to the publisher (which appends them with its own connection
// or spools them); when the pipeline fails mid-batch, or at shutdown, exactly the entries Redis did
// not confirm are handed to the publisher, with the hit's completion. So the guarantee is the
// publisher's: `done(true)` only once Redis or the spool holds every event of the hit. Unconfirmed
// is not the same as not appended: an XADD whose reply was lost may be in the stream already, so
// such entries are handed over as `maybe_appended`; the publisher appends them only if it does not
// find them in the stream.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "append_metrics.hpp"
#include "plumb/events/keys.hpp"
#include "plumb/log/logger.hpp"
#include "plumb/metrics/registry.hpp"
#include "plumb/queue/stream.hpp"
#include "plumb/redis/async_pipeline.hpp"
#include "publisher.hpp"

namespace plumb::collector {

struct stream_writer_options {
  redis::endpoint endpoint;
  events::keys keys;
  // Events sent and not yet confirmed; beyond it hits are refused with 503 (like the publisher's
  // queue: it bounds memory while Redis is slow but not yet past its timeout).
  std::size_t capacity = 100'000;
  // Connecting, or the oldest unconfirmed XADD, slower than this fails the pipeline; its
  // unconfirmed entries go to the publisher.
  std::chrono::milliseconds redis_timeout{1'000};
  // How often a failed pipeline reconnects, and how long hits bypass it after Redis refused one.
  std::chrono::milliseconds retry_interval{1'000};
  // Exactly one HTTP I/O thread: the pipeline needs no strand (redis::async_pipeline_options).
  bool single_threaded = false;
};

class stream_writer {
 public:
  stream_writer(publisher& fallback, stream_writer_options options, log::logger& log,
                metrics::registry& registry);
  ~stream_writer();
  stream_writer(const stream_writer&) = delete;
  stream_writer& operator=(const stream_writer&) = delete;

  // Starts the pipeline on the I/O threads' io_context (http::server_options::on_io_start);
  // until then every hit goes to the publisher.
  void attach(boost::asio::io_context& ioc);
  // Hands every unconfirmed entry to the publisher and closes the pipeline. Only while no thread
  // runs the io_context (http::server_options::on_io_stop); later hits go to the publisher.
  void detach();

  // An event_sink: false (and `done` is not called) when neither the pipeline nor the publisher
  // can take the events now.
  bool submit(std::vector<std::string> records, publisher::completion done);

  // True while the pipeline is connected, or the publisher is healthy.
  bool healthy() const;
  // True while hits can take the fast path (connected and not failed since).
  bool pipeline_ready() const { return pipeline_ != nullptr && pipeline_->ready(); }

 private:
  // Hits whose events go in one entry: the events in order, and per hit how many and its
  // completion.
  struct staged_entry {
    std::vector<std::string> records;
    std::vector<std::pair<std::size_t, publisher::completion>> hits;
  };
  bool redis_refused_recently() const;
  // Sends what the turn of the event loop staged (posted by the turn's first hit).
  void flush_staged();
  // The staged entry, leaving none. With staged_mutex_ held.
  staged_entry take_staged_locked();
  // One XADD for the entry; finish() when Redis answers.
  void send(staged_entry entry);
  // `done(true)` for each hit once Redis confirmed the entry, otherwise hand_over().
  void finish(staged_entry& entry, std::span<const redis::reply> replies, std::string_view failure);
  // Gives the hits' events to the publisher, which answers the hits once it has stored them.
  void hand_over(staged_entry& entry, std::string_view why, bool maybe_appended);

  publisher& fallback_;
  stream_writer_options options_;
  log::logger& log_;
  queue::xadd_encoder xadd_;
  boost::asio::io_context* ioc_ = nullptr;
  std::unique_ptr<redis::async_pipeline> pipeline_;
  // Hits taken in this turn of the event loop, sent by a flush posted behind them.
  std::mutex staged_mutex_;
  staged_entry staged_;
  bool flush_posted_ = false;
  // Events staged or sent and not yet confirmed (bounded by options_.capacity).
  std::atomic<std::size_t> unconfirmed_events_{0};
  // steady_clock ticks until which hits bypass the pipeline (Redis refused an XADD).
  std::atomic<std::int64_t> bypass_until_{0};
  append_metrics append_metrics_;  // the same metrics as the publisher's Redis path
  metrics::counter& handed_over_;
};

}  // namespace plumb::collector
