// async_pipeline: one TCP connection to Redis on a strand of the caller's io_context (or on the
// io_context's executor itself when one thread runs it). Writes are
// coalesced (one write in flight, everything queued meanwhile goes in the next); replies are
// parsed with hiredis's redisReader and matched to submissions in order (Redis answers a
// connection's commands in order). A periodic tick enforces the timeout and reconnects.

#include "plumb/redis/async_pipeline.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <new>
#include <optional>
#include <vector>

#include "reply_conversion.hpp"

namespace plumb::redis {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;
using strand_type = net::strand<net::io_context::executor_type>;

// Bytes asked for per read: about 3,000 XADD replies, so one read drains a large batch.
constexpr std::size_t read_chunk_bytes = 64 * 1024;
// How often timeouts and reconnection are checked: a quarter of the timeout, within these
// bounds (a finer tick only costs wake-ups; a coarser one would stretch the timeout).
constexpr std::chrono::milliseconds min_tick{5};
constexpr std::chrono::milliseconds max_tick{100};

struct reader_deleter {
  void operator()(redisReader* r) const noexcept { redisReaderFree(r); }
};
struct reply_deleter {
  void operator()(void* r) const noexcept { freeReplyObject(r); }
};

// One TCP connection and its buffers. Handlers hold it by shared_ptr: after a failure its late
// completions still find their buffers alive, and see that it is no longer the current link.
template <class Executor>
struct link {
  explicit link(const Executor& ex) : socket(ex), reader(redisReaderCreate()) {
    if (reader == nullptr) {
      throw std::bad_alloc();
    }
  }
  net::basic_stream_socket<tcp, Executor> socket;
  std::unique_ptr<redisReader, reader_deleter> reader;
  std::vector<char> read_buffer = std::vector<char>(read_chunk_bytes);
  std::string writing;  // the bytes of the write in flight
  bool write_in_flight = false;
};

}  // namespace

namespace detail {

// What the async_pipeline handle sees; implemented for a strand (several I/O threads) and for
// the io_context's own executor (one I/O thread: no strand to lock or allocate for).
struct async_pipeline_state {
  virtual ~async_pipeline_state() = default;
  virtual void submit(std::string protocol, std::size_t command_count,
                      async_pipeline::completion done) = 0;
  virtual void close() = 0;
  std::atomic<bool> ready{false};
  std::atomic<std::size_t> pending_commands{0};
};

}  // namespace detail

namespace {

template <class Executor>
struct pipeline final : detail::async_pipeline_state,
                        std::enable_shared_from_this<pipeline<Executor>> {
  using completion = async_pipeline::completion;
  using link = plumb::redis::link<Executor>;
  enum class phase { down, connecting, ready, closed };

  struct submission {
    std::size_t commands;
    completion done;  // empty for the pipeline's own AUTH and SELECT
    steady::time_point queued_at;
  };
  // A write of submitted commands (not AUTH or SELECT) whose replies are still coming.
  struct round_trip {
    std::size_t commands;
    std::size_t unanswered;
    steady::time_point written_at;
  };

  pipeline(Executor ex, endpoint where_, async_pipeline_options options_)
      : executor(std::move(ex)),
        resolver(executor),
        tick(executor),
        where(std::move(where_)),
        options(options_),
        tick_interval(std::clamp(options.timeout / 4, min_tick, max_tick)) {}

  std::shared_ptr<pipeline> self() { return this->shared_from_this(); }

  // Everything below runs on `executor` only (the `ready` and `pending_commands` atomics of the
  // base are read from any thread).
  Executor executor;
  net::ip::basic_resolver<tcp, Executor> resolver;
  net::basic_waitable_timer<steady, net::wait_traits<steady>, Executor> tick;
  endpoint where;
  async_pipeline_options options;
  std::chrono::milliseconds tick_interval;

  phase state = phase::down;
  std::shared_ptr<link> current;
  steady::time_point attempt_started{};
  steady::time_point retry_at{};
  std::deque<submission> pending;  // written or waiting in `out`, oldest first
  std::vector<reply> replies;      // of pending.front(), as they arrive
  std::string out;                 // protocol waiting for the next write
  std::size_t unwritten_commands = 0;  // submitted commands in `out`
  std::deque<round_trip> round_trips;  // oldest first, for options.on_round_trip
  bool flush_posted = false;
  std::uint64_t reads = 0;  // completed reads, to tell whether Redis answered between two ticks
  // `reads` when a tick found the oldest command overdue; empty while none is.
  std::optional<std::uint64_t> overdue_at_reads;

  void start() {
    net::post(executor, [self = self()] {
      self->connect();
      self->arm_tick();
    });
  }

  void arm_tick() {
    tick.expires_after(tick_interval);
    tick.async_wait([self = self()](const boost::system::error_code& ec) {
      if (ec || self->state == phase::closed) {
        return;
      }
      self->on_tick();
      self->arm_tick();
    });
  }

  void on_tick() {
    const auto now = steady::now();
    switch (state) {
      case phase::down:
        if (now >= retry_at) {
          connect();
        }
        break;
      case phase::connecting:
        if (now - attempt_started > options.timeout) {
          fail("connect timed out after " + std::to_string(options.timeout.count()) + " ms");
        }
        break;
      case phase::ready:
        if (pending.empty() || now - pending.front().queued_at <= options.timeout) {
          overdue_at_reads.reset();
        } else if (overdue_at_reads != reads) {
          // Overdue by the clock, but its reply may already be read, its handler queued behind
          // this one (the I/O thread was busy or descheduled): failing now would have the caller
          // send again what Redis ran. Timed out only if no read completes before the next tick.
          overdue_at_reads = reads;
        } else {
          fail("timed out after " + std::to_string(options.timeout.count()) + " ms");
        }
        break;
      case phase::closed:
        break;
    }
  }

  void connect() {
    state = phase::connecting;
    attempt_started = steady::now();
    current = std::make_shared<link>(executor);
    resolver.async_resolve(
        where.host, std::to_string(where.port),
        [self = self(), l = current](
            const boost::system::error_code& ec,
            const typename net::ip::basic_resolver<tcp, Executor>::results_type& results) {
          if (l != self->current) {
            return;
          }
          if (ec) {
            self->fail("resolve " + self->where.host + ": " + ec.message());
            return;
          }
          net::async_connect(
              l->socket, results,
              [self, l](const boost::system::error_code& connect_ec, const tcp::endpoint&) {
                if (l != self->current) {
                  return;
                }
                if (connect_ec) {
                  self->fail("connect: " + connect_ec.message());
                  return;
                }
                self->on_connected();
              });
        });
  }

  void on_connected() {
    // Both options are optimisations; without them it still works, so errors are ignored.
    boost::system::error_code ignored;
    current->socket.set_option(tcp::no_delay(true), ignored);
    current->socket.set_option(net::socket_base::keep_alive(true), ignored);
    start_read(current);
    // AUTH and SELECT go first on the connection; it is ready once Redis accepted them.
    const auto now = steady::now();
    if (where.password) {
      const std::string_view args[] = {"AUTH", *where.password};
      append_command(out, args);
      pending.push_back({1, {}, now});
    }
    if (where.database != 0) {
      const std::string database = std::to_string(where.database);
      const std::string_view args[] = {"SELECT", database};
      append_command(out, args);
      pending.push_back({1, {}, now});
    }
    if (pending.empty()) {
      become_ready();
    } else {
      start_write();
    }
  }

  void become_ready() {
    state = phase::ready;
    ready.store(true, std::memory_order_relaxed);
  }

  void enqueue(std::string protocol, std::size_t command_count, completion done) {
    if (state != phase::ready) {
      done({}, state == phase::closed ? "redis pipeline closed" : "redis pipeline not connected");
      return;
    }
    if (command_count == 0) {
      done({}, {});
      return;
    }
    out += protocol;
    unwritten_commands += command_count;
    pending.push_back({command_count, std::move(done), steady::now()});
    pending_commands.fetch_add(command_count, std::memory_order_relaxed);
    // Written from a posted handler rather than at once, so that every submission made in this
    // turn of the event loop (other connections' requests parsed from the same epoll round)
    // shares the write.
    if (!flush_posted && !current->write_in_flight) {
      flush_posted = true;
      net::post(executor, [self = self()] {
        self->flush_posted = false;
        self->start_write();
      });
    }
  }

  void start_write() {
    const auto l = current;
    if (l == nullptr || l->write_in_flight || out.empty()) {
      return;
    }
    l->writing.swap(out);
    out.clear();
    if (unwritten_commands > 0) {
      round_trips.push_back({unwritten_commands, unwritten_commands, steady::now()});
      unwritten_commands = 0;
    }
    l->write_in_flight = true;
    net::async_write(l->socket, net::buffer(l->writing),
                     [self = self(), l](const boost::system::error_code& ec, std::size_t) {
                       l->write_in_flight = false;
                       if (l != self->current) {
                         return;
                       }
                       if (ec) {
                         self->fail("write: " + ec.message());
                         return;
                       }
                       l->writing.clear();
                       self->start_write();
                     });
  }

  void start_read(const std::shared_ptr<link>& l) {
    l->socket.async_read_some(
        net::buffer(l->read_buffer),
        [self = self(), l](const boost::system::error_code& ec, std::size_t n) {
          if (l != self->current) {
            return;
          }
          if (ec) {
            self->fail(ec == net::error::eof ? std::string("connection closed by redis")
                                             : "read: " + ec.message());
            return;
          }
          ++self->reads;
          if (self->on_data(*l, n) && l == self->current) {
            self->start_read(l);
          }
        });
  }

  // Parses what arrived and completes the submissions it answers. False when that failed the
  // connection.
  bool on_data(link& l, std::size_t n) {
    if (redisReaderFeed(l.reader.get(), l.read_buffer.data(), n) != REDIS_OK) {
      fail(std::string("protocol error: ") + l.reader->errstr);
      return false;
    }
    for (;;) {
      void* raw = nullptr;
      if (redisReaderGetReply(l.reader.get(), &raw) != REDIS_OK) {
        fail(std::string("protocol error: ") + l.reader->errstr);
        return false;
      }
      if (raw == nullptr) {
        return true;  // the rest of the reply has not arrived yet
      }
      const std::unique_ptr<void, reply_deleter> owned(raw);
      if (pending.empty()) {
        fail("reply to no command");
        return false;
      }
      auto& head = pending.front();
      if (!head.done) {
        const auto* r = static_cast<const redisReply*>(raw);
        if (r->type == REDIS_REPLY_ERROR) {
          fail("AUTH or SELECT refused: " + std::string(r->str, r->len));
          return false;
        }
        pending.pop_front();
        if (pending.empty() || pending.front().done) {
          become_ready();
        }
        continue;
      }
      replies.push_back(from_hiredis(*static_cast<const redisReply*>(raw)));
      answered_one();
      if (replies.size() == head.commands) {
        // Popped before the completion runs: it may submit again (dispatch runs that inline).
        const submission finished = std::move(head);
        pending.pop_front();
        pending_commands.fetch_sub(finished.commands, std::memory_order_relaxed);
        finished.done(replies, {});
        replies.clear();
      }
    }
  }

  // Counts one reply to a submitted command against the oldest write; reports the write once
  // all its commands are answered. Every such command was written (a reply cannot come first).
  void answered_one() {
    auto& oldest = round_trips.front();
    if (--oldest.unanswered > 0) {
      return;
    }
    if (options.on_round_trip) {
      options.on_round_trip(oldest.commands, steady::now() - oldest.written_at);
    }
    round_trips.pop_front();
  }

  // Drops the connection and fails every unfinished submission with `reason`; reconnects after
  // the retry interval (unless closed).
  void fail(const std::string& reason) {
    if (state != phase::closed) {
      state = phase::down;
    }
    ready.store(false, std::memory_order_relaxed);
    retry_at = steady::now() + options.retry_interval;
    if (current != nullptr) {
      boost::system::error_code ignored;  // closing cannot fail in a way that leaves anything to do
      current->socket.close(ignored);
      current.reset();
    }
    resolver.cancel();
    out.clear();
    unwritten_commands = 0;
    round_trips.clear();
    overdue_at_reads.reset();
    auto failed = std::move(pending);
    pending.clear();
    auto partial = std::move(replies);
    replies.clear();
    pending_commands.store(0, std::memory_order_relaxed);
    bool first = true;
    for (auto& s : failed) {
      if (s.done) {
        s.done(first ? std::span<const reply>(partial) : std::span<const reply>(), reason);
      }
      first = false;
    }
  }

  void submit(std::string protocol, std::size_t command_count, completion done) override {
    net::dispatch(executor, [self = self(), protocol = std::move(protocol), command_count,
                             done = std::move(done)]() mutable {
      self->enqueue(std::move(protocol), command_count, std::move(done));
    });
  }

  void close() override {
    state = phase::closed;
    tick.cancel();
    fail("redis pipeline closed");
  }
};

}  // namespace

async_pipeline::async_pipeline(boost::asio::io_context& ioc, endpoint where,
                               async_pipeline_options options) {
  if (options.single_threaded) {
    auto p = std::make_shared<pipeline<net::io_context::executor_type>>(ioc.get_executor(),
                                                                        std::move(where), options);
    p->start();
    impl_ = std::move(p);
  } else {
    auto p =
        std::make_shared<pipeline<strand_type>>(net::make_strand(ioc), std::move(where), options);
    p->start();
    impl_ = std::move(p);
  }
}

async_pipeline::~async_pipeline() {
  close();
}

bool async_pipeline::ready() const {
  return impl_ != nullptr && impl_->ready.load(std::memory_order_relaxed);
}

std::size_t async_pipeline::pending_commands() const {
  return impl_ == nullptr ? 0 : impl_->pending_commands.load(std::memory_order_relaxed);
}

void async_pipeline::submit(std::string protocol, std::size_t command_count, completion done) {
  if (impl_ == nullptr) {
    done({}, "redis pipeline closed");
    return;
  }
  impl_->submit(std::move(protocol), command_count, std::move(done));
}

void async_pipeline::close() {
  if (impl_ == nullptr) {
    return;
  }
  impl_->close();
  // Handlers still queued in the (stopped) io_context keep the rest alive until it is destroyed.
  impl_.reset();
}

}  // namespace plumb::redis
