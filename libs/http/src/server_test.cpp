// The whole server over loopback: threads, timeouts, blocking dispatch and graceful stop. Limit
// cases of the connection itself are covered without a network in session_test.cpp.
#include "plumb/http/server.hpp"

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using plumb::http::dispatch;
using plumb::http::request;
using plumb::http::responder;
using plumb::http::response;
using plumb::http::router;
using plumb::http::server;
using plumb::http::server_options;
using plumb::http::verb;
using namespace std::chrono_literals;

// Only stops a broken test from hanging: every read that should succeed or see the server close
// does so long before this; a test that hits it fails on beast::error::timeout.
constexpr std::chrono::seconds hang_guard{20};

// A small synchronous-looking HTTP client over loopback.
class client {
 public:
  explicit client(std::uint16_t port) {
    stream_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  }

  void send(std::string_view raw) { net::write(stream_.socket(), net::buffer(raw)); }

  // Reads the next response into `res`; returns the read's error (eof, reset, timeout...).
  beast::error_code read(bhttp::response<bhttp::string_body>& res, bool head = false) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.skip(head);
    beast::error_code result;
    stream_.expires_after(hang_guard);
    bhttp::async_read(stream_, buffer_, parser,
                      [&](beast::error_code ec, std::size_t) { result = ec; });
    ioc_.run();
    ioc_.restart();
    if (!result) {
      res = parser.release();
    }
    return result;
  }

  // Waits until the server closes the connection; returns how the read ended.
  beast::error_code wait_closed() {
    bhttp::response<bhttp::string_body> ignored;
    beast::error_code ec;
    do {
      ec = read(ignored);
    } while (!ec);
    return ec;
  }

 private:
  net::io_context ioc_;
  beast::tcp_stream stream_{ioc_};
  beast::flat_buffer buffer_;
};

// Responders handed over by async handlers (on I/O threads), taken by the test thread. Declared
// before the server in a test, so responders still inside outlive it.
class inbox {
 public:
  void put(responder done) {
    {
      const std::lock_guard lock(mutex_);
      items_.push_back(std::move(done));
    }
    arrived_.notify_all();
  }

  // The next responder, waiting for it at most hang_guard.
  std::optional<responder> take() {
    std::unique_lock lock(mutex_);
    if (!arrived_.wait_for(lock, hang_guard, [this] { return !items_.empty(); })) {
      return std::nullopt;
    }
    responder done = std::move(items_.front());
    items_.pop_front();
    return done;
  }

  // True once `count` responders are waiting (waits at most hang_guard).
  bool wait_for(std::size_t count) {
    std::unique_lock lock(mutex_);
    return arrived_.wait_for(lock, hang_guard, [&] { return items_.size() >= count; });
  }

  plumb::http::async_handler handler() {
    return [this](const request&, responder done) { put(std::move(done)); };
  }

 private:
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::deque<responder> items_;
};

// Completes a responder taken from an inbox (the test REQUIREd that one arrived).
void answer(std::optional<responder>& done, response res) {
  responder taken = std::move(*done);
  done.reset();
  std::move(taken)(std::move(res));
}

bool closed_by_server(const beast::error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == net::error::eof ||
         ec == net::error::connection_reset;
}

std::string field(const bhttp::response<bhttp::string_body>& res, std::string_view name) {
  auto it = res.find(name);
  return it == res.end() ? "<none>" : std::string(it->value());
}

}  // namespace

TEST_CASE("server binds port 0, answers and reports the peer address", "[server]") {
  std::mutex mutex;
  std::string peer;
  router r;
  r.add(verb::get, "/hello", [&](const request& req) {
    const std::lock_guard lock(mutex);
    peer = req.peer_address;
    return response::json(200, R"({"hello":"world"})");
  });
  server s({}, std::move(r));
  s.start();
  REQUIRE(s.port() != 0);

  client c(s.port());
  c.send("GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n");
  bhttp::response<bhttp::string_body> res;
  REQUIRE_FALSE(c.read(res));
  CHECK(res.result_int() == 200);
  CHECK(res.body() == R"({"hello":"world"})");
  CHECK(field(res, "Server") == "plumb");
  {
    const std::lock_guard lock(mutex);
    CHECK(peer == "127.0.0.1");
  }

  c.send("HEAD /hello HTTP/1.1\r\nHost: localhost\r\n\r\n");
  REQUIRE_FALSE(c.read(res, true));
  CHECK(field(res, "Content-Length") == "17");
  CHECK(res.body().empty());
  s.stop();
}

TEST_CASE("server runs blocking handlers off the I/O thread and keeps order", "[server]") {
  std::atomic<std::thread::id> io_thread;
  std::atomic<std::thread::id> blocking_thread;
  router r;
  r.add(verb::get, "/io", [&](const request&) {
    io_thread = std::this_thread::get_id();
    return response::text(200, "io");
  });
  r.add(
      verb::get, "/blocking",
      [&](const request&) {
        blocking_thread = std::this_thread::get_id();
        std::this_thread::sleep_for(50ms);  // so a reordering bug would show
        return response::text(200, "blocking");
      },
      dispatch::blocking);
  server_options options;
  options.io_threads = 1;
  options.blocking_threads = 2;
  server s(options, std::move(r));
  s.start();

  client c(s.port());
  // Pipelined: the slow blocking request first, the fast io one right behind it.
  c.send("GET /blocking HTTP/1.1\r\nHost: h\r\n\r\nGET /io HTTP/1.1\r\nHost: h\r\n\r\n");
  bhttp::response<bhttp::string_body> first;
  bhttp::response<bhttp::string_body> second;
  REQUIRE_FALSE(c.read(first));
  REQUIRE_FALSE(c.read(second));
  CHECK(first.body() == "blocking");
  CHECK(second.body() == "io");

  CHECK(io_thread.load() != std::thread::id{});
  CHECK(blocking_thread.load() != std::thread::id{});
  CHECK(io_thread.load() != blocking_thread.load());
  CHECK(io_thread.load() != std::this_thread::get_id());
  CHECK(blocking_thread.load() != std::this_thread::get_id());
}

TEST_CASE("server answers 500 and reports when a handler throws", "[server]") {
  std::mutex mutex;
  std::vector<std::string> reported;
  server_options options;
  options.on_handler_error = [&](std::string_view what) {
    const std::lock_guard lock(mutex);
    reported.emplace_back(what);
  };
  router r;
  r.add(verb::post, "/io", [](const request&) -> response { throw std::runtime_error("io boom"); });
  r.add(
      verb::post, "/blocking",
      [](const request&) -> response { throw std::logic_error("blocking boom"); },
      dispatch::blocking);
  server s(options, std::move(r));
  s.start();

  client c(s.port());
  bhttp::response<bhttp::string_body> res;
  for (const char* path : {"/io", "/blocking"}) {
    c.send(std::string("POST ") + path + " HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
    REQUIRE_FALSE(c.read(res));
    CHECK(res.result_int() == 500);
    CHECK(res.body() == R"({"errors":{"server":"internal error"}})");
    CHECK(res.keep_alive());
  }
  s.stop();
  const std::lock_guard lock(mutex);
  CHECK(reported == std::vector<std::string>{"io boom", "blocking boom"});
}

TEST_CASE("server adds default headers to every response", "[server]") {
  server_options options;
  options.default_headers = {{"X-Content-Type-Options", "nosniff"}};
  router r;
  r.add(verb::get, "/x", [](const request&) { return response::text(200, "x"); });
  server s(options, std::move(r));
  s.start();
  client c(s.port());
  bhttp::response<bhttp::string_body> res;
  for (const char* target : {"/x", "/missing"}) {
    c.send(std::string("GET ") + target + " HTTP/1.1\r\nHost: h\r\n\r\n");
    REQUIRE_FALSE(c.read(res));
    CHECK(field(res, "X-Content-Type-Options") == "nosniff");
  }
  CHECK(res.result_int() == 404);
}

TEST_CASE("server stop lets an in-flight blocking request finish", "[server]") {
  std::promise<void> started;
  router r;
  r.add(
      verb::get, "/slow",
      [&](const request&) {
        started.set_value();
        std::this_thread::sleep_for(300ms);
        return response::text(200, "done");
      },
      dispatch::blocking);
  server s({}, std::move(r));
  s.start();
  const std::uint16_t port = s.port();

  client c(port);
  c.send("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
  started.get_future().wait();
  std::thread stopper([&] { s.stop(10s); });

  bhttp::response<bhttp::string_body> res;
  const beast::error_code ec = c.read(res);
  stopper.join();
  REQUIRE_FALSE(ec);
  CHECK(res.result_int() == 200);
  CHECK(res.body() == "done");
  CHECK(closed_by_server(c.wait_closed()));
  CHECK_THROWS(client(port));  // no longer accepting

  s.stop();  // a second stop is a no-op
}

TEST_CASE("server stop closes idle keep-alive connections", "[server]") {
  router r;
  r.add(verb::get, "/x", [](const request&) { return response::text(200, "x"); });
  server s({}, std::move(r));
  s.start();
  client c(s.port());
  c.send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
  bhttp::response<bhttp::string_body> res;
  REQUIRE_FALSE(c.read(res));
  CHECK(res.keep_alive());
  s.stop();
  CHECK(closed_by_server(c.wait_closed()));
}

TEST_CASE("server closes a request that does not arrive within request_timeout", "[server]") {
  server_options options;
  options.request_timeout = 200ms;
  options.idle_timeout = 60s;  // longer than hang_guard: only request_timeout can close
  router r;
  r.add(verb::get, "/x", [](const request&) { return response::text(200, "x"); });
  server s(options, std::move(r));
  s.start();
  client c(s.port());
  c.send("GET /x HTTP/1.1\r\nHost: h\r\nX-Slow: ");  // a slowloris client never finishes
  CHECK(closed_by_server(c.wait_closed()));
}

TEST_CASE("server closes a keep-alive connection idle for idle_timeout", "[server]") {
  server_options options;
  options.idle_timeout = 200ms;
  options.request_timeout = 60s;  // longer than hang_guard: only idle_timeout can close
  router r;
  r.add(verb::get, "/x", [](const request&) { return response::text(200, "x"); });
  server s(options, std::move(r));
  s.start();

  client never_sends(s.port());
  CHECK(closed_by_server(never_sends.wait_closed()));

  client c(s.port());
  c.send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
  bhttp::response<bhttp::string_body> res;
  REQUIRE_FALSE(c.read(res));
  CHECK(res.keep_alive());
  CHECK(closed_by_server(c.wait_closed()));
}

TEST_CASE("server 413 reaches a client that already sent its whole body", "[server]") {
  server_options options;
  options.body_limit = 1024;
  router r;
  r.add(verb::post, "/x", [](const request& req) { return response::text(200, req.body); });
  server s(options, std::move(r));
  s.start();
  client c(s.port());
  const std::string body(std::size_t{8} * 1024, 'b');
  c.send("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body);
  bhttp::response<bhttp::string_body> res;
  REQUIRE_FALSE(c.read(res));
  CHECK(res.result_int() == 413);
  CHECK(res.body() == R"({"errors":{"body":"request body exceeds 1024 bytes"}})");
  CHECK_FALSE(res.keep_alive());
  CHECK(closed_by_server(c.wait_closed()));
}

TEST_CASE("server start reports bind failures and bad options", "[server]") {
  server first({}, router{});
  first.start();

  server_options same_port;
  same_port.port = first.port();
  server second(same_port, router{});
  CHECK_THROWS_AS(second.start(), std::system_error);

  server_options bad_address;
  bad_address.address = "not-an-address";
  server third(bad_address, router{});
  CHECK_THROWS_AS(third.start(), std::system_error);

  server_options bad_header;
  bad_header.default_headers = {{"X-Bad", "a\r\nb"}};
  server fourth(bad_header, router{});
  CHECK_THROWS_AS(fourth.start(), std::invalid_argument);

  CHECK_THROWS_AS(first.start(), std::logic_error);
  first.stop();
  first.stop();
}

TEST_CASE("server destructor stops a running server, stop without start is fine", "[server]") {
  { server never_started({}, router{}); }
  {
    server never_started({}, router{});
    never_started.stop();
  }
  {
    server running({}, router{});
    running.start();
  }
  SUCCEED();
}

TEST_CASE("server with several I/O threads serves concurrent connections", "[server]") {
  constexpr int clients = 4;
  constexpr int requests_each = 5;
  server_options options;
  options.io_threads = 2;
  router r;
  r.add(verb::post, "/echo", [](const request& req) { return response::text(200, req.body); });
  r.add(
      verb::post, "/echo-blocking",
      [](const request& req) { return response::text(200, req.body); }, dispatch::blocking);
  server s(options, std::move(r));
  s.start();

  std::vector<std::future<int>> done;
  for (int i = 0; i < clients; ++i) {
    done.push_back(std::async(std::launch::async, [port = s.port(), i] {
      client c(port);
      int ok = 0;
      for (int j = 0; j < requests_each; ++j) {
        const std::string body = std::to_string(i) + "-" + std::to_string(j);
        const char* path = j % 2 == 0 ? "/echo" : "/echo-blocking";
        c.send(std::string("POST ") + path + " HTTP/1.1\r\nHost: h\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\n\r\n" + body);
        bhttp::response<bhttp::string_body> res;
        if (!c.read(res) && res.body() == body) {
          ++ok;
        }
      }
      return ok;
    }));
  }
  for (auto& f : done) {
    CHECK(f.get() == requests_each);
  }
}

TEST_CASE("server answers 64 concurrent async requests completed in random order", "[server]") {
  constexpr std::size_t clients = 64;
  const unsigned seed = Catch::rngSeed();  // choose another with --rng-seed
  CAPTURE(seed);
  std::mutex mutex;
  std::condition_variable arrived;
  std::vector<std::pair<responder, std::string>> waiting;
  router r;
  r.add_async(verb::post, "/event", [&](const request& req, responder done) {
    {
      const std::lock_guard lock(mutex);
      waiting.emplace_back(std::move(done), req.body);
    }
    arrived.notify_one();
  });
  server_options options;
  options.io_threads = 2;
  server s(options, std::move(r));
  s.start();

  // Like the collector's appender: takes the whole batch, then completes it in random order.
  std::thread worker([&] {
    std::vector<std::pair<responder, std::string>> batch;
    {
      std::unique_lock lock(mutex);
      arrived.wait_for(lock, hang_guard, [&] { return waiting.size() == clients; });
      batch.swap(waiting);
    }
    std::mt19937 rng(seed);
    std::shuffle(batch.begin(), batch.end(), rng);
    for (auto& [done, body] : batch) {
      std::move(done)(response::json(202, R"({"id":")" + body + R"("})"));
    }
  });

  std::vector<std::future<std::string>> answers;
  for (std::size_t i = 0; i < clients; ++i) {
    answers.push_back(std::async(std::launch::async, [port = s.port(), i] {
      client c(port);
      const std::string body = "client-" + std::to_string(i);
      c.send("POST /event HTTP/1.1\r\nHost: h\r\nContent-Length: " + std::to_string(body.size()) +
             "\r\n\r\n" + body);
      bhttp::response<bhttp::string_body> res;
      if (const beast::error_code ec = c.read(res)) {
        return "error: " + ec.message();
      }
      return std::to_string(res.result_int()) + " " + res.body();
    }));
  }
  for (std::size_t i = 0; i < clients; ++i) {
    CHECK(answers[i].get() == "202 {\"id\":\"client-" + std::to_string(i) + "\"}");
  }
  worker.join();
  s.stop();
}

TEST_CASE("server stop waits for a pending async request completed within grace", "[server]") {
  inbox box;
  router r;
  r.add_async(verb::get, "/pending", box.handler());
  server s({}, std::move(r));
  s.start();

  client c(s.port());
  c.send("GET /pending HTTP/1.1\r\nHost: h\r\n\r\n");
  std::optional<responder> done = box.take();
  REQUIRE(done.has_value());
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    s.stop(10s);
    stopped = true;
  });
  // Gives stop() time to reach its wait; a stop() that did not wait would have returned by now.
  std::this_thread::sleep_for(100ms);
  CHECK_FALSE(stopped.load());
  answer(done, response::text(202, "accepted"));

  bhttp::response<bhttp::string_body> res;
  const beast::error_code ec = c.read(res);
  stopper.join();
  REQUIRE_FALSE(ec);
  CHECK(res.result_int() == 202);
  CHECK(res.body() == "accepted");
  CHECK(closed_by_server(c.wait_closed()));
}

TEST_CASE("server ignores responders called after the client left or the server stopped",
          "[server]") {
  inbox box;
  std::optional<responder> after_stop;
  std::optional<responder> after_destruction;
  {
    router r;
    r.add_async(verb::get, "/wait", box.handler());
    r.add(verb::get, "/x", [](const request&) { return response::text(200, "x"); });
    server s({}, std::move(r));
    s.start();

    std::optional<responder> client_left;
    {
      client gone(s.port());
      gone.send("GET /wait HTTP/1.1\r\nHost: h\r\n\r\n");
      client_left = box.take();
    }
    REQUIRE(client_left.has_value());
    answer(client_left, response::text(200, "nobody reads this"));

    client c(s.port());
    c.send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
    bhttp::response<bhttp::string_body> res;
    REQUIRE_FALSE(c.read(res));
    CHECK(res.body() == "x");

    // Two requests still pending when stop's grace period ends.
    client first(s.port());
    client second(s.port());
    first.send("GET /wait HTTP/1.1\r\nHost: h\r\n\r\n");
    after_stop = box.take();
    second.send("GET /wait HTTP/1.1\r\nHost: h\r\n\r\n");
    after_destruction = box.take();
    REQUIRE(after_stop.has_value());
    REQUIRE(after_destruction.has_value());
    s.stop(50ms);
    CHECK(closed_by_server(first.wait_closed()));
    CHECK(closed_by_server(second.wait_closed()));
    answer(after_stop, response::text(200, "after stop"));
  }
  answer(after_destruction, response::text(200, "after destruction"));
  after_destruction.reset();
  SUCCEED();
}

TEST_CASE("server keeps an async request open past idle and request timeouts", "[server]") {
  server_options options;
  options.idle_timeout = 50ms;
  options.request_timeout = 50ms;
  // Well after both: if either applied while waiting, the client would see a closed socket.
  options.async_timeout = 500ms;
  inbox box;
  router r;
  r.add_async(verb::get, "/wait", box.handler());
  r.add(verb::get, "/x", [](const request&) { return response::text(200, "x"); });
  server s(options, std::move(r));
  s.start();

  client c(s.port());
  // Pipelined, so idle_timeout cannot close the connection before the second request arrives.
  c.send("GET /wait HTTP/1.1\r\nHost: h\r\n\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n");
  std::optional<responder> late = box.take();
  REQUIRE(late.has_value());
  bhttp::response<bhttp::string_body> res;
  REQUIRE_FALSE(c.read(res));
  CHECK(res.result_int() == 503);
  CHECK(res.body() == R"({"errors":{"server":"request timed out"}})");
  answer(late, response::text(200, "late"));
  REQUIRE_FALSE(c.read(res));
  CHECK(res.body() == "x");
}

TEST_CASE("server stop races safely with responders completing on another thread", "[server]") {
  constexpr std::size_t clients = 16;
  inbox box;
  router r;
  r.add_async(verb::get, "/wait", box.handler());
  server s({}, std::move(r));
  s.start();

  std::vector<std::future<bool>> answered_or_closed;
  for (std::size_t i = 0; i < clients; ++i) {
    answered_or_closed.push_back(std::async(std::launch::async, [port = s.port()] {
      client c(port);
      c.send("GET /wait HTTP/1.1\r\nHost: h\r\n\r\n");
      bhttp::response<bhttp::string_body> res;
      const beast::error_code ec = c.read(res);
      return ec ? closed_by_server(ec) : res.result_int() == 202;
    }));
  }
  REQUIRE(box.wait_for(clients));
  // Completes every request while stop() runs with no grace: each completion lands before the
  // session is gone, in a stopped io_context, or at a closed gate.
  std::thread worker([&] {
    for (std::size_t i = 0; i < clients; ++i) {
      if (std::optional<responder> done = box.take()) {
        answer(done, response::text(202, "ok"));
      }
    }
  });
  s.stop(0ms);
  worker.join();
  for (auto& f : answered_or_closed) {
    CHECK(f.get());
  }
}

TEST_CASE("server lets a component share the I/O threads' io_context", "[server]") {
  // The component answers async requests from its own work on the io_context (as the collector's
  // Redis pipeline does): a timer stands in for it here.
  std::optional<net::steady_timer> timer;
  std::deque<responder> waiting;
  std::atomic<int> starts{0};
  std::atomic<int> stops{0};
  router r;
  r.add_async(verb::get, "/later", [&](const request&, responder done) {
    waiting.push_back(std::move(done));
    timer->expires_after(20ms);
    timer->async_wait([&](const beast::error_code& ec) {
      while (!ec && !waiting.empty()) {
        std::move(waiting.front())(response::text(200, "later"));
        waiting.pop_front();
      }
    });
  });
  server_options options;
  options.io_threads = 1;
  options.on_io_start = [&](net::io_context& ioc) {
    ++starts;
    timer.emplace(ioc);
  };
  options.on_io_stop = [&] {
    ++stops;
    timer.reset();  // bound to the io_context, which is destroyed right after this
  };
  server s(options, std::move(r));
  s.start();
  CHECK(starts.load() == 1);

  client c(s.port());
  c.send("GET /later HTTP/1.1\r\nHost: h\r\n\r\n");
  bhttp::response<bhttp::string_body> res;
  REQUIRE_FALSE(c.read(res));
  CHECK(res.body() == "later");
  CHECK(stops.load() == 0);
  s.stop();
  CHECK(stops.load() == 1);
  CHECK_FALSE(timer.has_value());
  s.stop();  // stopping twice calls it once
  CHECK(stops.load() == 1);
}
