#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "plumb/http/router.hpp"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace plumb::http {

// How long an async handler's request may wait for its responder before the client gets 503.
// The collector answers once its batch is durably handed off, normally well under a second;
// this only bounds a stuck or lost producer, so a client is never held indefinitely.
inline constexpr std::chrono::milliseconds default_async_timeout{30'000};

struct server_options {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  // 0: the OS picks a free port; read it back with server::port()
  unsigned io_threads = 1;
  unsigned blocking_threads = 4;
  // Limits on everything a client sends; over them the client gets 413 / 431 / a closed socket.
  std::size_t body_limit = 16 * 1024;
  std::size_t header_limit = 8 * 1024;
  // A request must arrive whole within this time (closes slowloris connections).
  std::chrono::milliseconds request_timeout{10'000};
  // A keep-alive connection with no new request for this long is closed.
  std::chrono::milliseconds idle_timeout{30'000};
  // An async request not completed within this time is answered 503; its responder, called
  // later, is ignored. Idle and request timeouts do not run while a request is being answered.
  std::chrono::milliseconds async_timeout = default_async_timeout;
  // Headers added to every response (e.g. CORS or security headers).
  std::vector<header> default_headers;
  // Called (from any thread) when a handler throws; the client gets a 500 JSON error.
  std::function<void(std::string_view what)> on_handler_error;
  // For components that must run on the I/O threads' own event loop (the collector's Redis
  // pipeline, which answers async requests without a thread hand-off). `on_io_start` is called in
  // start() with the io_context, before any I/O thread runs it: create sockets and timers there.
  // `on_io_stop` is called in stop() once the I/O threads are joined (after the grace period,
  // during which the io_context kept running their work), before the io_context is destroyed:
  // finish or hand off pending work and destroy every object bound to the io_context there.
  // A throw from `on_io_start` fails start().
  std::function<void(boost::asio::io_context& ioc)> on_io_start;
  std::function<void()> on_io_stop;
};

// Beast HTTP/1.1 server: a strand per connection (none with one I/O thread), timeouts on every read
// and write, a fresh parser per request with body and header limits, keep-alive, pipelined requests
// answered in order.
class server {
 public:
  server(server_options options, router routes);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Binds and starts accepting on the I/O threads; throws std::system_error when it cannot bind.
  void start();
  // The bound port (valid after start()).
  std::uint16_t port() const;
  // Stops accepting, lets in-flight requests finish (up to `grace`; async requests count until
  // their responder is called), then joins every thread. Responders called after the grace
  // period are ignored, even after the server is destroyed.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds{5'000});

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace plumb::http
