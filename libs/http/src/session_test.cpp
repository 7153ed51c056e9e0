// The connection logic without a network: beast::test::stream feeds raw bytes to a session and
// collects what it writes back.
#include "session.hpp"

#include <boost/beast/_experimental/test/stream.hpp>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using plumb::http::dispatch;
using plumb::http::request;
using plumb::http::responder;
using plumb::http::response;
using plumb::http::router;
using plumb::http::server_options;
using plumb::http::verb;
using plumb::http::detail::server_state;
using plumb::http::detail::session;
using test_stream = beast::test::stream;
using parsed_response = bhttp::response<bhttp::string_body>;

constexpr const char* test_peer = "203.0.113.9";

// One session per exchange over an in-memory pipe; io handlers only, so ioc.run() returning means
// the session is finished.
class harness {
 public:
  harness(server_options options, router routes)
      : state_(std::make_shared<server_state>(std::move(options), std::move(routes),
                                              pool_.get_executor())) {}
  // As server::stop() does: responders that outlive the harness must not reach its io_context.
  ~harness() { state_->gate->close(); }
  harness(const harness&) = delete;
  harness& operator=(const harness&) = delete;

  // Feeds `raw` followed by end-of-stream and returns every byte the session wrote.
  std::string exchange(std::string_view raw, beast::test::fail_count* fail = nullptr) {
    test_stream client(ioc_);
    test_stream server_side = fail == nullptr ? test_stream(ioc_) : test_stream(ioc_, *fail);
    server_side.connect(client);
    server_side.append(raw);
    // The client sends nothing more: the session sees end of stream after the buffered bytes,
    // while the client end still receives what the session writes.
    server_side.close_remote();
    std::make_shared<session<test_stream>>(std::move(server_side), state_, test_peer)->run();
    ioc_.run();
    ioc_.restart();
    return std::string(client.str());
  }

  bool idle() { return state_->in_flight.wait_idle(std::chrono::milliseconds{0}); }

 private:
  net::io_context ioc_;
  net::thread_pool pool_{1};
  std::shared_ptr<server_state> state_;
};

// Parses consecutive responses; `head_at` marks responses to HEAD requests (no body follows).
std::vector<parsed_response> parse_responses(std::string_view raw,
                                             const std::vector<bool>& head_at = {}) {
  net::io_context ioc;
  test_stream source(ioc, raw);
  source.close_remote();  // end of stream after `raw` instead of waiting for more
  beast::flat_buffer buffer;
  std::vector<parsed_response> out;
  for (;;) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.skip(out.size() < head_at.size() && head_at[out.size()]);
    beast::error_code ec;
    bhttp::read(source, buffer, parser, ec);
    if (ec) {
      break;
    }
    out.push_back(parser.release());
  }
  return out;
}

// Completes responders on its own thread in the order they arrive, like the collector's
// background appender. A responder handed over without a response is dropped there instead.
class completer {
 public:
  completer() : thread_([this] { run(); }) {}
  ~completer() {
    {
      const std::lock_guard lock(mutex_);
      done_ = true;
    }
    ready_.notify_one();
    thread_.join();
  }
  completer(const completer&) = delete;
  completer& operator=(const completer&) = delete;

  void push(responder done, std::optional<response> res) {
    {
      const std::lock_guard lock(mutex_);
      queue_.emplace_back(std::move(done), std::move(res));
    }
    ready_.notify_one();
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      ready_.wait(lock, [this] { return done_ || !queue_.empty(); });
      if (queue_.empty()) {
        return;
      }
      item next = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      complete(std::move(next));
      lock.lock();
    }
  }

  using item = std::pair<responder, std::optional<response>>;

  // Without a response the responder is dropped on return, which answers 503.
  static void complete(item next) {
    if (next.second) {
      std::move(next.first)(std::move(*next.second));
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<item> queue_;
  bool done_ = false;
  std::thread thread_;  // last: starts once the members it uses exist
};

std::string field(const parsed_response& res, std::string_view name) {
  auto it = res.find(name);
  return it == res.end() ? "<none>" : std::string(it->value());
}

router echo_router(request* seen = nullptr) {
  router r;
  r.add(verb::get, "/echo", [seen](const request& req) {
     if (seen != nullptr) {
       *seen = req;
     }
     return response::text(200, "path=" + req.path + " query=" + req.query + " body=" + req.body);
   }).add(verb::post, "/echo", [](const request& req) { return response::text(200, req.body); });
  r.add(verb::get, "/a", [](const request&) { return response::text(200, "a"); });
  r.add(verb::get, "/b", [](const request&) { return response::text(200, "b"); });
  return r;
}

}  // namespace

TEST_CASE("session answers a request and fills the plumb request", "[session]") {
  request seen;
  harness h({}, echo_router(&seen));
  const std::string raw =
      h.exchange("GET /echo?x=1&y=%20 HTTP/1.1\r\nHost: example.test\r\nX-Custom: v\r\n\r\n");
  const auto responses = parse_responses(raw);
  REQUIRE(responses.size() == 1);
  const parsed_response& res = responses[0];
  CHECK(res.result_int() == 200);
  CHECK(res.version() == 11);
  CHECK(res.body() == "path=/echo query=x=1&y=%20 body=");
  CHECK(field(res, "Content-Type") == "text/plain; charset=utf-8");
  CHECK(field(res, "Content-Length") == std::to_string(res.body().size()));
  CHECK(field(res, "Server") == "plumb");
  CHECK(res.keep_alive());

  CHECK(seen.method == verb::get);
  CHECK(seen.target == "/echo?x=1&y=%20");
  CHECK(seen.path == "/echo");
  CHECK(seen.query == "x=1&y=%20");
  CHECK(seen.peer_address == test_peer);
  CHECK(seen.header_value("x-custom") == "v");
  CHECK(seen.header_value("Host") == "example.test");
  CHECK(h.idle());
}

TEST_CASE("session maps unknown methods to verb::other", "[session]") {
  router r;
  r.add(verb::other, "/x", [](const request&) { return response::text(200, "other"); });
  harness h({}, std::move(r));
  const auto responses = parse_responses(h.exchange("PROPFIND /x HTTP/1.1\r\nHost: h\r\n\r\n"));
  REQUIRE(responses.size() == 1);
  CHECK(responses[0].body() == "other");
}

TEST_CASE("session answers pipelined requests in order on one connection", "[session]") {
  harness h({}, echo_router());
  const std::string raw = h.exchange(
      "GET /b HTTP/1.1\r\nHost: h\r\n\r\n"
      "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
      "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
      "GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
  const auto responses = parse_responses(raw);
  REQUIRE(responses.size() == 4);
  CHECK(responses[0].body() == "b");
  CHECK(responses[1].body() == "hello");
  CHECK(responses[2].body() == "abc");
  CHECK(responses[3].body() == "a");
  CHECK(h.idle());
}

TEST_CASE("session closes after Connection: close and HTTP/1.0", "[session]") {
  harness h({}, echo_router());
  SECTION("HTTP/1.1 with Connection: close") {
    const auto responses =
        parse_responses(h.exchange("GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /b "
                                   "HTTP/1.1\r\nHost: h\r\n\r\n"));
    REQUIRE(responses.size() == 1);
    CHECK(responses[0].body() == "a");
    CHECK_FALSE(responses[0].keep_alive());
    CHECK(field(responses[0], "Connection") == "close");
  }
  SECTION("HTTP/1.0 without keep-alive") {
    const auto responses =
        parse_responses(h.exchange("GET /a HTTP/1.0\r\n\r\nGET /b HTTP/1.0\r\n\r\n"));
    REQUIRE(responses.size() == 1);
    CHECK(responses[0].version() == 10);
    CHECK_FALSE(responses[0].keep_alive());
  }
  SECTION("HTTP/1.0 with keep-alive") {
    const auto responses = parse_responses(
        h.exchange("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n"));
    REQUIRE(responses.size() == 2);
    CHECK(responses[0].keep_alive());
    CHECK(field(responses[0], "Connection") == "keep-alive");
  }
}

TEST_CASE("session answers 413 when the body exceeds body_limit, then closes", "[session]") {
  server_options options;
  options.body_limit = 10;
  harness h(options, echo_router());
  const std::string expected = R"({"errors":{"body":"request body exceeds 10 bytes"}})";

  SECTION("declared by Content-Length") {
    const auto responses = parse_responses(
        h.exchange("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n01234567890"
                   "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"));
    REQUIRE(responses.size() == 1);
    CHECK(responses[0].result_int() == 413);
    CHECK(responses[0].body() == expected);
    CHECK(field(responses[0], "Content-Type") == "application/json");
    CHECK_FALSE(responses[0].keep_alive());
  }
  SECTION("discovered while reading chunks") {
    const auto responses = parse_responses(
        h.exchange("POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "6\r\n012345\r\n6\r\n678901\r\n0\r\n\r\n"));
    REQUIRE(responses.size() == 1);
    CHECK(responses[0].result_int() == 413);
    CHECK(responses[0].body() == expected);
  }
  SECTION("exactly at the limit is accepted") {
    const auto responses = parse_responses(
        h.exchange("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789"));
    REQUIRE(responses.size() == 1);
    CHECK(responses[0].result_int() == 200);
    CHECK(responses[0].body() == "0123456789");
  }
  CHECK(h.idle());
}

TEST_CASE("session answers 431 when headers exceed header_limit, then closes", "[session]") {
  server_options options;
  options.header_limit = 256;
  harness h(options, echo_router());
  const std::string big(300, 'x');
  const auto responses = parse_responses(h.exchange("GET /a HTTP/1.1\r\nHost: h\r\nX-Big: " + big +
                                                    "\r\n\r\nGET /b HTTP/1.1\r\n\r\n"));
  REQUIRE(responses.size() == 1);
  CHECK(responses[0].result_int() == 431);
  CHECK(responses[0].body() == R"({"errors":{"headers":"request headers exceed 256 bytes"}})");
  CHECK_FALSE(responses[0].keep_alive());
}

TEST_CASE("session answers 400 to malformed requests, then closes", "[session]") {
  harness h({}, echo_router());
  const auto input = GENERATE(as<std::string>{}, "GET /a HTTP/9.9\r\n\r\n",
                              "G\x01T /a HTTP/1.1\r\n\r\n", "GET /a HTTP/1.1\r\nNo colon\r\n\r\n",
                              "POST /echo HTTP/1.1\r\nContent-Length: x\r\n\r\n");
  const auto responses = parse_responses(h.exchange(input + "GET /b HTTP/1.1\r\n\r\n"));
  REQUIRE(responses.size() == 1);
  CHECK(responses[0].result_int() == 400);
  CHECK(responses[0].body() == R"({"errors":{"request":"malformed request"}})");
  CHECK_FALSE(responses[0].keep_alive());
}

TEST_CASE("session sends nothing for a request cut off mid-way", "[session]") {
  harness h({}, echo_router());
  CHECK(h.exchange("GET /a HTTP/1.1\r\nHost:").empty());
  CHECK(h.exchange("POST /echo HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc").empty());
  CHECK(h.exchange("").empty());
  CHECK(h.idle());
}

TEST_CASE("session answers HEAD with GET's headers and Content-Length but no body", "[session]") {
  harness h({}, echo_router());
  const std::string raw =
      h.exchange("HEAD /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n");
  const auto responses = parse_responses(raw, {true, false});
  REQUIRE(responses.size() == 2);
  CHECK(responses[0].result_int() == 200);
  CHECK(field(responses[0], "Content-Length") == "1");
  CHECK(responses[0].body().empty());
  CHECK(responses[1].body() == "b");
  // The HEAD response is headers only: the next bytes are the GET response.
  CHECK(raw.find("\r\n\r\nHTTP/1.1 200") != std::string::npos);
}

TEST_CASE("session gives 404 and 405 from the router", "[session]") {
  harness h({}, echo_router());
  const auto responses = parse_responses(
      h.exchange("GET /nope HTTP/1.1\r\nHost: h\r\n\r\nDELETE /echo HTTP/1.1\r\nHost: h\r\n\r\n"));
  REQUIRE(responses.size() == 2);
  CHECK(responses[0].result_int() == 404);
  CHECK(responses[0].body() == R"({"errors":{"path":"no such endpoint"}})");
  CHECK(responses[1].result_int() == 405);
  CHECK(field(responses[1], "Allow") == "GET, HEAD, POST");
  CHECK(responses[1].keep_alive());
}

TEST_CASE("session turns handler exceptions into 500 and reports them", "[session]") {
  std::vector<std::string> reported;
  server_options options;
  options.on_handler_error = [&](std::string_view what) { reported.emplace_back(what); };
  router r;
  r.add(verb::get, "/throw", [](const request&) -> response { throw std::runtime_error("boom"); });
  r.add(verb::get, "/throw-int", [](const request&) -> response { throw 42; });
  r.add(verb::get, "/bad-status", [](const request&) { return response::text(42, "x"); });
  r.add(verb::get, "/bad-header", [](const request&) {
    return response::text(200, "x").with_header("X-Split", "a\r\nSet-Cookie: evil=1");
  });
  r.add(verb::get, "/ok", [](const request&) { return response::text(200, "ok"); });
  harness h(options, std::move(r));

  const auto responses = parse_responses(h.exchange(
      "GET /throw HTTP/1.1\r\n\r\nGET /throw-int HTTP/1.1\r\n\r\nGET /bad-status HTTP/1.1\r\n\r\n"
      "GET /bad-header HTTP/1.1\r\n\r\nGET /ok HTTP/1.1\r\n\r\n"));
  REQUIRE(responses.size() == 5);
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(responses[i].result_int() == 500);
    CHECK(responses[i].body() == R"({"errors":{"server":"internal error"}})");
    CHECK(field(responses[i], "Set-Cookie") == "<none>");
  }
  CHECK(responses[4].body() == "ok");
  REQUIRE(reported.size() == 4);
  CHECK(reported[0] == "boom");
}

TEST_CASE("session applies default headers but the handler headers win", "[session]") {
  server_options options;
  options.default_headers = {{"X-Frame-Options", "DENY"}, {"Access-Control-Allow-Origin", "*"}};
  router r;
  r.add(verb::get, "/cors", [](const request&) {
    return response::json(200, "{}")
        .with_header("access-control-allow-origin", "https://a.test")
        .with_header("Set-Cookie", "a=1")
        .with_header("Set-Cookie", "b=2")
        .with_header("Content-Length", "999")
        .with_header("Server", "custom");
  });
  r.add(verb::get, "/plain", [](const request&) {
    response res = response::text(200, "x");
    res.content_type.clear();
    return res;
  });
  harness h(options, std::move(r));
  const auto responses = parse_responses(
      h.exchange("GET /cors HTTP/1.1\r\nHost: h\r\n\r\nGET /plain HTTP/1.1\r\nHost: h\r\n\r\n"));
  REQUIRE(responses.size() == 2);
  const parsed_response& cors = responses[0];
  CHECK(field(cors, "X-Frame-Options") == "DENY");
  CHECK(field(cors, "Access-Control-Allow-Origin") == "https://a.test");
  CHECK(cors.count("Access-Control-Allow-Origin") == 1);
  CHECK(cors.count("Set-Cookie") == 2);
  CHECK(field(cors, "Content-Length") == "2");
  CHECK(field(cors, "Server") == "custom");
  CHECK(cors.body() == "{}");

  const parsed_response& plain = responses[1];
  CHECK(field(plain, "Content-Type") == "<none>");
  CHECK(field(plain, "X-Frame-Options") == "DENY");
  CHECK(field(plain, "Server") == "plumb");
}

TEST_CASE("session drops the connection on a write error and ends the request", "[session]") {
  harness h({}, echo_router());
  // The first stream operations succeed, a later one (the write) fails.
  for (std::size_t n = 1; n <= 3; ++n) {
    beast::test::fail_count fail(n);
    CHECK_NOTHROW(h.exchange("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\n\r\n", &fail));
    CHECK(h.idle());
  }
}

TEST_CASE("session writes an async response completed later on another thread", "[session]") {
  completer worker;
  std::thread::id handler_thread;
  server_options options;
  options.default_headers = {{"X-Frame-Options", "DENY"}};
  router r;
  r.add_async(verb::post, "/event", [&](const request& req, responder done) {
    handler_thread = std::this_thread::get_id();
    worker.push(
        std::move(done),
        response::json(202, R"({"queued":")" + req.body + R"("})").with_header("X-Id", "7"));
  });
  harness h(options, std::move(r));
  const auto responses = parse_responses(
      h.exchange("POST /event HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"));
  REQUIRE(responses.size() == 1);
  const parsed_response& res = responses[0];
  CHECK(res.result_int() == 202);
  CHECK(res.body() == R"({"queued":"abc"})");
  CHECK(field(res, "Content-Type") == "application/json");
  CHECK(field(res, "Content-Length") == std::to_string(res.body().size()));
  CHECK(field(res, "X-Id") == "7");
  CHECK(field(res, "X-Frame-Options") == "DENY");
  CHECK(field(res, "Server") == "plumb");
  CHECK(res.keep_alive());
  // The handler ran on the session's thread (here the one running the io_context).
  CHECK(handler_thread == std::this_thread::get_id());
  CHECK(h.idle());
}

TEST_CASE("session answers 503 when an async responder is dropped", "[session]") {
  completer worker;
  router r;
  r.add_async(verb::get, "/drop-here", [](const request&, responder) {});
  r.add_async(verb::get, "/drop-there",
              [&](const request&, responder done) { worker.push(std::move(done), std::nullopt); });
  r.add(verb::get, "/a", [](const request&) { return response::text(200, "a"); });
  harness h({}, std::move(r));
  const auto responses =
      parse_responses(h.exchange("GET /drop-here HTTP/1.1\r\n\r\nGET /drop-there HTTP/1.1\r\n\r\n"
                                 "GET /a HTTP/1.1\r\n\r\n"));
  REQUIRE(responses.size() == 3);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(responses[i].result_int() == 503);
    CHECK(responses[i].body() == R"({"errors":{"server":"request was not completed"}})");
    CHECK(responses[i].keep_alive());
  }
  CHECK(responses[2].body() == "a");
  CHECK(h.idle());
}

TEST_CASE("session turns async handler exceptions and bad responses into 500", "[session]") {
  completer worker;
  std::vector<std::string> reported;
  server_options options;
  options.on_handler_error = [&](std::string_view what) { reported.emplace_back(what); };
  router r;
  r.add_async(verb::get, "/throw",
              [](const request&, responder) { throw std::runtime_error("boom"); });
  // Once the handler throws, its 500 wins over whatever happens to the responder.
  r.add_async(verb::get, "/reply-then-throw", [](const request&, responder done) {
    std::move(done)(response::text(200, "not sent"));
    throw std::runtime_error("after reply");
  });
  r.add_async(verb::get, "/hand-off-then-throw", [&](const request&, responder done) {
    worker.push(std::move(done), response::text(200, "not sent"));
    throw 42;
  });
  r.add_async(verb::get, "/bad-status", [&](const request&, responder done) {
    worker.push(std::move(done), response::text(42, "x"));
  });
  r.add_async(verb::get, "/bad-header", [&](const request&, responder done) {
    worker.push(std::move(done), response::text(200, "x").with_header("X-Split", "a\r\nB: c"));
  });
  r.add_async(verb::get, "/ok", [&](const request&, responder done) {
    worker.push(std::move(done), response::text(200, "ok"));
  });
  harness h(options, std::move(r));
  const auto responses = parse_responses(
      h.exchange("GET /throw HTTP/1.1\r\n\r\nGET /reply-then-throw HTTP/1.1\r\n\r\n"
                 "GET /hand-off-then-throw HTTP/1.1\r\n\r\nGET /bad-status HTTP/1.1\r\n\r\n"
                 "GET /bad-header HTTP/1.1\r\n\r\nGET /ok HTTP/1.1\r\n\r\n"));
  REQUIRE(responses.size() == 6);
  for (std::size_t i = 0; i < 5; ++i) {
    CHECK(responses[i].result_int() == 500);
    CHECK(responses[i].body() == R"({"errors":{"server":"internal error"}})");
    CHECK(field(responses[i], "B") == "<none>");
  }
  CHECK(responses[5].body() == "ok");
  CHECK(reported == std::vector<std::string>{"boom", "after reply",
                                             "handler threw a non-standard exception",
                                             "handler returned invalid status 42",
                                             "handler returned an invalid header"});
  CHECK(h.idle());
}

TEST_CASE("session answers 503 after async_timeout and ignores the late responder", "[session]") {
  server_options options;
  options.async_timeout = std::chrono::milliseconds{20};
  std::vector<responder> kept;  // touched only on the thread running the io_context
  router r;
  r.add_async(verb::get, "/never",
              [&](const request&, responder done) { kept.push_back(std::move(done)); });
  // Completes the previous request late, then its own: only its own may answer it.
  r.add_async(verb::get, "/next", [&](const request&, responder done) {
    for (auto& late : kept) {
      std::move(late)(response::text(200, "late"));
    }
    std::move(done)(response::text(200, "next"));
  });

  SECTION("a later request on the same connection is not answered by the late responder") {
    harness h(options, r);
    const auto responses =
        parse_responses(h.exchange("GET /never HTTP/1.1\r\n\r\nGET /next HTTP/1.1\r\n\r\n"));
    REQUIRE(responses.size() == 2);
    CHECK(responses[0].result_int() == 503);
    CHECK(responses[0].body() == R"({"errors":{"server":"request timed out"}})");
    CHECK(responses[0].keep_alive());
    CHECK(responses[1].body() == "next");
    CHECK(h.idle());
  }
  SECTION("responders called or dropped after the session and the harness are gone") {
    {
      harness h(options, r);
      const auto responses =
          parse_responses(h.exchange("GET /never HTTP/1.1\r\n\r\nGET /never HTTP/1.1\r\n\r\n"));
      REQUIRE(responses.size() == 2);
      CHECK(responses[1].result_int() == 503);
      REQUIRE(kept.size() == 2);
      std::move(kept[0])(response::text(200, "after the session"));
    }
    std::move(kept[1])(response::text(200, "after the harness"));
    kept.clear();
  }
}

TEST_CASE("session answers HEAD on an async GET route without the body", "[session]") {
  completer worker;
  router r;
  r.add_async(verb::get, "/stats", [&](const request&, responder done) {
    worker.push(std::move(done), response::json(200, R"({"visits":12})"));
  });
  harness h({}, std::move(r));
  const std::string raw =
      h.exchange("HEAD /stats HTTP/1.1\r\nHost: h\r\n\r\nGET /stats HTTP/1.1\r\nHost: h\r\n\r\n");
  const auto responses = parse_responses(raw, {true, false});
  REQUIRE(responses.size() == 2);
  CHECK(responses[0].result_int() == 200);
  CHECK(field(responses[0], "Content-Length") == "13");
  CHECK(field(responses[0], "Content-Type") == "application/json");
  CHECK(responses[0].body().empty());
  CHECK(responses[1].body() == R"({"visits":12})");
  CHECK(raw.find("\r\n\r\nHTTP/1.1 200") != std::string::npos);
}

TEST_CASE("session answers pipelined async and sync requests in order", "[session]") {
  completer worker;
  std::vector<std::string> invoked;
  router r;
  r.add_async(verb::post, "/event", [&](const request& req, responder done) {
    invoked.push_back(req.body);
    worker.push(std::move(done), response::text(202, req.body));
  });
  r.add(verb::get, "/sync", [&](const request&) {
    invoked.emplace_back("sync");
    return response::text(200, "sync");
  });
  harness h({}, std::move(r));
  std::string raw;
  for (const char* body : {"e1", "e2"}) {
    raw += std::string("POST /event HTTP/1.1\r\nContent-Length: 2\r\n\r\n") + body;
  }
  raw += "GET /sync HTTP/1.1\r\n\r\nPOST /event HTTP/1.1\r\nContent-Length: 2\r\n\r\ne3";
  const auto responses = parse_responses(h.exchange(raw));
  REQUIRE(responses.size() == 4);
  CHECK(responses[0].body() == "e1");
  CHECK(responses[1].body() == "e2");
  CHECK(responses[2].body() == "sync");
  CHECK(responses[3].body() == "e3");
  // The next request is read only after the previous response is written.
  CHECK(invoked == std::vector<std::string>{"e1", "e2", "sync", "e3"});
  CHECK(h.idle());
}

TEST_CASE("session survives a write error after an async response", "[session]") {
  completer worker;
  router r;
  r.add_async(verb::get, "/x", [&](const request&, responder done) {
    worker.push(std::move(done), response::text(200, "x"));
  });
  harness h({}, std::move(r));
  for (std::size_t n = 1; n <= 3; ++n) {
    beast::test::fail_count fail(n);
    CHECK_NOTHROW(h.exchange("GET /x HTTP/1.1\r\n\r\nGET /x HTTP/1.1\r\n\r\n", &fail));
    CHECK(h.idle());
  }
}
