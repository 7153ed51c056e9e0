#pragma once
// Private to libs/http: one HTTP/1.1 connection, modelled on Beast 1.74's
// example/http/server/async and advanced_server. The session is a template over the stream so
// tests drive the same code with beast::test::stream, without a network.

#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "plumb/http/message.hpp"
#include "plumb/http/router.hpp"
#include "plumb/http/server.hpp"

namespace plumb::http::detail {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace bhttp = boost::beast::http;

using beast_request = bhttp::request<bhttp::string_body>;

// Size of the one read that waits for the first byte of the next request. It only bounds that
// read; the parser's header and body limits bound everything after it.
inline constexpr std::size_t first_read_size = 4096;
// After an error response (413/431/400) the client may still be sending. Closing with unread
// bytes makes the kernel send RST, which can destroy the response before the client reads it, so
// the session reads and discards for a while first ("lingering close"), bounded in time and bytes.
inline constexpr std::chrono::milliseconds lingering_close_timeout{1'000};
inline constexpr std::size_t lingering_close_bytes = 64 * 1024;
// Used when the request line was never parsed (e.g. 431), so the client's version is unknown.
inline constexpr unsigned default_http_version = 11;

// Counts requests that were read but not yet answered, so server::stop() can wait for them. The
// count is atomic so that a request costs no lock; the mutex is only taken to announce idleness.
class request_tracker {
 public:
  void begin();
  void end();
  // True when no request is in flight; waits at most `timeout` for that.
  bool wait_idle(std::chrono::milliseconds timeout);

 private:
  std::mutex mutex_;
  std::condition_variable idle_;
  std::atomic<std::size_t> active_{0};
};

// Marks one request in flight for as long as it lives.
class in_flight_guard {
 public:
  explicit in_flight_guard(request_tracker& tracker) : tracker_(&tracker) { tracker_->begin(); }
  ~in_flight_guard() { tracker_->end(); }
  in_flight_guard(const in_flight_guard&) = delete;
  in_flight_guard& operator=(const in_flight_guard&) = delete;

 private:
  request_tracker* tracker_;
};

// Lets responders on any thread reach sessions only while the io_context exists. server::stop()
// closes it before destroying the io_context; a response completed after that is dropped.
class async_gate {
 public:
  // Runs `fn` unless the gate is closed; close() waits for a running `fn` to return.
  template <class Fn>
  void run_if_open(Fn&& fn) {
    const std::shared_lock lock(mutex_);
    if (open_) {
      std::forward<Fn>(fn)();
    }
  }
  void close() {
    const std::unique_lock lock(mutex_);
    open_ = false;
  }

 private:
  std::shared_mutex mutex_;
  bool open_ = true;
};

// What every session of one server shares. Immutable after start except the tracker and flag.
struct server_state {
  server_state(server_options opts, router rts, net::thread_pool::executor_type pool)
      : options(std::move(opts)), routes(std::move(rts)), blocking(std::move(pool)) {}

  server_options options;
  router routes;
  net::thread_pool::executor_type blocking;
  request_tracker in_flight;
  // Set by stop(): responses then carry "Connection: close" so clients go away.
  std::atomic<bool> stopping{false};
  // Shared with every responder, which may outlive this state and the whole server.
  std::shared_ptr<async_gate> gate = std::make_shared<async_gate>();
};

// RFC 7230 token for names; values must not contain CR, LF or NUL (they could end the header
// early and smuggle in another: response splitting).
bool valid_header_name(std::string_view name);
bool valid_header_value(std::string_view value);

// Plumb's view of a parsed request; moves the body out of `req`.
request to_request(beast_request&& req, const std::string& peer_address);

// The one exception boundary around handler code: a handler that throws, or returns a response
// that cannot be sent (bad status, CR/LF in a header), yields a 500 and `on_handler_error`.
response invoke_handler(const route& r, const request& req, const server_options& options);

// The same boundary for an async handler: the 500 when it throws, nullopt when it returned (the
// response then comes through `done`).
std::optional<response> invoke_async_handler(const route& r, const request& req, responder done,
                                             const server_options& options);

// `res` when it can be sent, otherwise a 500 (and `on_handler_error`), as for handler results.
response checked_response(response res, const server_options& options);

// What the client gets when an async request outlives server_options::async_timeout.
response async_timeout_response();

// The response for a failed read, or nullopt when the connection should just be closed
// (timeout, reset, end of stream, a message cut off mid-way).
std::optional<response> parse_error_response(const beast::error_code& ec,
                                             const server_options& options);

// The response in wire form: content type, handler headers, default headers (the handler's win),
// Server, Connection and Content-Length; for HEAD the body is dropped but its length kept; 1xx,
// 204 and 304 carry neither. Built in one string because Beast's generic serializer cost about a
// fifth of a collector request, and a response here is always a complete string body.
std::string serialize_response(response&& res, const server_options& options, bool head,
                               unsigned version, bool keep_alive);

// Timeouts and shutdown differ between a TCP stream (on whichever executor) and
// beast::test::stream (which has no timer).
template <class Stream>
inline constexpr bool is_tcp_stream = false;
template <class Executor, class RatePolicy>
inline constexpr bool is_tcp_stream<beast::basic_stream<net::ip::tcp, Executor, RatePolicy>> = true;

template <class Stream>
void set_timeout(Stream& stream, std::chrono::milliseconds timeout) {
  if constexpr (is_tcp_stream<Stream>) {
    stream.expires_after(timeout);
  }
}

template <class Stream>
void shutdown_send(Stream& stream) {
  if constexpr (is_tcp_stream<Stream>) {
    beast::error_code ec;
    // The peer may already be gone; there is nobody to report that to.
    stream.socket().shutdown(net::socket_base::shutdown_send, ec);
  } else {
    stream.close();
  }
}

// Whether code runs inside `ex` right now (so it may touch what only `ex` touches). False when the
// executor cannot tell (beast::test::stream's type-erased one): callers then post.
template <class Executor>
bool running_in(const Executor& ex) {
  if constexpr (requires { ex.running_in_this_thread(); }) {
    return ex.running_in_this_thread();
  } else {
    return false;
  }
}

template <class Stream>
class session : public std::enable_shared_from_this<session<Stream>> {
 public:
  session(Stream stream, std::shared_ptr<server_state> state, std::string peer_address)
      : stream_(std::move(stream)),
        async_timer_(stream_.get_executor()),
        state_(std::move(state)),
        peer_address_(std::move(peer_address)) {}

  void run() {
    // Start on the connection's executor (its strand with several I/O threads): every handler of
    // this session runs there.
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&session::wait_for_request, this->shared_from_this()));
  }

 private:
  // Between requests: idle_timeout applies until the first byte of the next request arrives.
  // Pipelined bytes already buffered mean the next request has begun.
  void wait_for_request() {
    if (buffer_.size() > 0) {
      read_request();
      return;
    }
    set_timeout(stream_, state_->options.idle_timeout);
    stream_.async_read_some(
        buffer_.prepare(first_read_size),
        beast::bind_front_handler(&session::on_first_bytes, this->shared_from_this()));
  }

  void on_first_bytes(beast::error_code ec, std::size_t bytes) {
    if (ec) {
      return;  // idle timeout, peer closed or reset: the destructor closes the socket
    }
    buffer_.commit(bytes);
    read_request();
  }

  // From the first byte, the whole request must arrive within request_timeout (one deadline for
  // all reads of this request, so a slowloris client trickling bytes is still cut off).
  void read_request() {
    parser_.emplace();
    parser_->body_limit(state_->options.body_limit);
    parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(
        state_->options.header_limit, std::numeric_limits<std::uint32_t>::max())));
    set_timeout(stream_, state_->options.request_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&session::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) {
      std::optional<response> error = parse_error_response(ec, state_->options);
      if (error) {
        const unsigned version =
            parser_->is_header_done() ? parser_->get().version() : default_http_version;
        send(std::move(*error), false, version, false);
      }
      return;
    }
    in_flight_.emplace(state_->in_flight);
    beast_request breq = parser_->release();
    const unsigned version = breq.version();
    const bool keep_alive = breq.keep_alive();
    request req = to_request(std::move(breq), peer_address_);
    const bool head = req.method == verb::head;

    const route* r = state_->routes.match(req);
    if (r == nullptr) {
      send(state_->routes.fallback_response(req), head, version, keep_alive);
      return;
    }
    if (r->async_fn) {
      start_async(*r, req, head, version, keep_alive);
      return;
    }
    if (r->where == dispatch::io) {
      send(invoke_handler(*r, req, state_->options), head, version, keep_alive);
      return;
    }
    // Blocking handlers run on the pool; the response comes back to this connection's strand.
    // Nothing reads or writes the stream meanwhile, so reading the executor here is safe.
    net::post(state_->blocking, [self = this->shared_from_this(), ex = stream_.get_executor(), r,
                                 req = std::move(req), head, version, keep_alive]() mutable {
      response res = invoke_handler(*r, req, self->state_->options);
      net::post(
          ex, [self = std::move(self), res = std::move(res), head, version, keep_alive]() mutable {
            self->send(std::move(res), head, version, keep_alive);
          });
    });
  }

  // While the handler's responder is out, no read is pending (the next request is read only after
  // this response is written), so only async_timeout bounds the wait. The timer's handler owns
  // the session meanwhile; responders hold only a weak reference.
  void start_async(const route& r, const request& req, bool head, unsigned version,
                   bool keep_alive) {
    const std::uint64_t id = ++last_async_id_;
    pending_.emplace(pending_async{id, head, version, keep_alive});
    async_timer_.expires_after(state_->options.async_timeout);
    async_timer_.async_wait(
        beast::bind_front_handler(&session::on_async_timeout, this->shared_from_this(), id));
    in_async_handler_ = true;
    std::optional<response> error =
        invoke_async_handler(r, req, make_responder(id), state_->options);
    in_async_handler_ = false;
    // The responder only posts, so even one called (or dropped) inside the handler has not
    // completed the request yet: a throwing handler's 500 always wins.
    if (error && awaiting(id)) {
      finish_async(std::move(*error));
    }
  }

  responder make_responder(std::uint64_t id) {
    return responder([gate = state_->gate, weak = this->weak_from_this(), id](response res) {
      gate->run_if_open([&] {
        std::shared_ptr<session> self = weak.lock();
        if (!self) {
          return;  // the connection is gone: nobody to answer
        }
        // The executor never changes after construction, so reading it off-strand is safe.
        const auto ex = self->stream_.get_executor();
        // Called on the session's own executor (the collector's Redis replies arrive on the I/O
        // thread): answer at once rather than queue a handler. Not from inside the handler
        // itself, so that a handler that throws after calling `done` still answers 500.
        if (running_in(ex) && !self->in_async_handler_) {
          self->on_async_response(id, std::move(res));
          return;
        }
        net::post(ex, [self = std::move(self), id, res = std::move(res)]() mutable {
          self->on_async_response(id, std::move(res));
        });
      });
    });
  }

  bool awaiting(std::uint64_t id) const { return pending_.has_value() && pending_->id == id; }

  // Only the first completion of a request counts: a late responder (after the timeout or a 500)
  // or one of an earlier request on this connection is ignored.
  void on_async_response(std::uint64_t id, response res) {
    if (awaiting(id)) {
      finish_async(checked_response(std::move(res), state_->options));
    }
  }

  void on_async_timeout(std::uint64_t id, beast::error_code ec) {
    if (!ec && awaiting(id)) {
      finish_async(async_timeout_response());
    }
  }

  void finish_async(response&& res) {
    const pending_async p = *pending_;
    pending_.reset();
    async_timer_.cancel();
    send(std::move(res), p.head, p.version, p.keep_alive);
  }

  void send(response&& res, bool head, unsigned version, bool keep_alive) {
    if (state_->stopping.load()) {
      keep_alive = false;
    }
    // A response sent without the request being tracked is an error reply: linger after it.
    const bool error_reply = !in_flight_.has_value();
    const bool bodyless = res.status < 200 || res.status == 204 || res.status == 304;
    if (res.stream && !head && !bodyless) {
      chunked_ = version != 10;
      keep_alive = keep_alive && chunked_;
      // The head first: it announces the chunked body only while the response still has it.
      body_ = res.stream;
      response_.emplace(serialize_response(std::move(res), state_->options, head, version, keep_alive));
      set_timeout(stream_, state_->options.request_timeout);
      net::async_write(stream_, net::buffer(*response_),
                       beast::bind_front_handler(&session::on_piece_written, this->shared_from_this(),
                                                 !keep_alive));
      return;
    }
    response_.emplace(
        serialize_response(std::move(res), state_->options, head, version, keep_alive));
    // Writing a response gets the same bound as reading a request.
    set_timeout(stream_, state_->options.request_timeout);
    net::async_write(stream_, net::buffer(*response_),
                     beast::bind_front_handler(&session::on_write, this->shared_from_this(),
                                               !keep_alive, error_reply));
  }

  // Streamed bodies: the next piece is produced on the blocking pool (it may read a database),
  // then written here; one piece at a time.
  void on_piece_written(bool close, beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) {
      body_ = nullptr;
      response_.reset();
      in_flight_.reset();
      return;  // peer gone or write timed out
    }
    net::post(state_->blocking, [self = this->shared_from_this(), ex = stream_.get_executor(), close] {
      std::string piece;
      bool more = false;
      bool failed = false;
      try {
        more = self->body_(piece);
      } catch (const std::exception& e) {
        failed = true;
        if (self->state_->options.on_handler_error) {
          self->state_->options.on_handler_error(e.what());
        }
      }
      net::post(ex, [self, piece = std::move(piece), more, failed, close]() mutable {
        self->write_piece(std::move(piece), more, failed, close);
      });
    });
  }

  void write_piece(std::string piece, bool more, bool failed, bool close) {
    if (failed) {
      // The status line is out: all that is left is to cut the body short.
      body_ = nullptr;
      response_.reset();
      in_flight_.reset();
      shutdown_send(stream_);
      return;
    }
    std::string framed;
    if (chunked_ && !piece.empty()) {
      char size[20];
      const int n = std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
      framed.append(size, static_cast<std::size_t>(n)).append(piece).append("\r\n");
    } else {
      framed = std::move(piece);
    }
    if (!more) {
      body_ = nullptr;
      if (chunked_) {
        framed += "0\r\n\r\n";
      }
    }
    response_.emplace(std::move(framed));
    set_timeout(stream_, state_->options.request_timeout);
    if (more) {
      net::async_write(stream_, net::buffer(*response_),
                       beast::bind_front_handler(&session::on_piece_written, this->shared_from_this(), close));
    } else {
      net::async_write(stream_, net::buffer(*response_),
                       beast::bind_front_handler(&session::on_write, this->shared_from_this(), close, false));
    }
  }

  void on_write(bool close, bool error_reply, beast::error_code ec, std::size_t /*bytes*/) {
    response_.reset();
    in_flight_.reset();
    if (ec) {
      return;  // peer gone or write timed out
    }
    if (!close) {
      wait_for_request();
      return;
    }
    shutdown_send(stream_);
    if constexpr (is_tcp_stream<Stream>) {
      if (error_reply) {
        set_timeout(stream_, lingering_close_timeout);
        drain();
      }
    }
  }

  void drain() {
    buffer_.consume(buffer_.size());
    stream_.async_read_some(
        buffer_.prepare(first_read_size),
        beast::bind_front_handler(&session::on_drain, this->shared_from_this()));
  }

  void on_drain(beast::error_code ec, std::size_t bytes) {
    drained_ += bytes;
    if (ec || drained_ >= lingering_close_bytes) {
      return;  // the destructor closes the socket
    }
    drain();
  }

  // How to answer the async request awaiting its responder; `id` tells that request's completion
  // apart from a late one of an earlier request on this connection.
  struct pending_async {
    std::uint64_t id;
    bool head;
    unsigned version;
    bool keep_alive;
  };

  Stream stream_;
  net::basic_waitable_timer<std::chrono::steady_clock, net::wait_traits<std::chrono::steady_clock>,
                            typename Stream::executor_type>
      async_timer_;
  std::shared_ptr<server_state> state_;
  std::string peer_address_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<std::string> response_;  // the response in wire form while it is written
  body_stream body_;                     // a streamed response's producer while it is sent
  bool chunked_ = false;                 // the streamed response uses chunked encoding
  std::optional<pending_async> pending_;
  std::uint64_t last_async_id_ = 0;
  bool in_async_handler_ = false;  // an async handler is running (its responder must post)
  // Declared after state_ so it ends before the state it counts in.
  std::optional<in_flight_guard> in_flight_;
  std::size_t drained_ = 0;
};

}  // namespace plumb::http::detail
