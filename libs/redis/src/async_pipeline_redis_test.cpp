// async_pipeline against a real Redis (PLUMB_TEST_REDIS_URL) and against sockets that refuse or
// never answer. The io_context runs on one thread, as in the collector.

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "plumb/redis/async_pipeline.hpp"
#include "plumb/test_support/environment.hpp"
#include "plumb/test_support/loopback_port.hpp"

using plumb::redis::async_pipeline;
using plumb::redis::async_pipeline_options;
using plumb::redis::endpoint;
using plumb::redis::reply;
using plumb::test_support::loopback_port;
using namespace std::chrono_literals;

namespace {

endpoint test_endpoint() {
  return *endpoint::parse_url(plumb::test_support::redis_url());
}

// Where a test's stand-in for a failing Redis listens (or refuses).
endpoint at(const loopback_port& port) {
  endpoint e;
  e.port = port.port();
  return e;
}

// An io_context run by one thread for the test's lifetime; the pipeline is closed once the thread
// has been joined, as the HTTP server does.
struct loop {
  boost::asio::io_context ioc{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work{
      ioc.get_executor()};
  std::thread thread{[this] { ioc.run(); }};

  void stop() {
    if (thread.joinable()) {
      work.reset();
      ioc.stop();
      thread.join();
    }
  }
  ~loop() { stop(); }
};

struct outcome {
  std::vector<reply> replies;
  std::string failure;
};

std::future<outcome> submit(async_pipeline& pipeline,
                            const std::vector<std::vector<std::string_view>>& commands) {
  std::string protocol;
  for (const auto& args : commands) {
    plumb::redis::append_command(protocol, args);
  }
  auto promise = std::make_shared<std::promise<outcome>>();
  auto future = promise->get_future();
  pipeline.submit(std::move(protocol), commands.size(),
                  [promise](std::span<const reply> replies, std::string_view failure) {
                    promise->set_value({{replies.begin(), replies.end()}, std::string(failure)});
                  });
  return future;
}

bool wait_ready(const async_pipeline& pipeline, std::chrono::milliseconds limit = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pipeline.ready() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  return pipeline.ready();
}

}  // namespace

TEST_CASE("async_pipeline: replies come back in order, per submission", "[redis]") {
  const bool single_threaded = GENERATE(false, true);
  loop l;
  std::atomic<std::size_t> round_trips{0};
  std::atomic<std::size_t> round_trip_commands{0};
  std::atomic<bool> instant_round_trip{false};  // Catch2 assertions are not for other threads
  async_pipeline_options options{1s, 1s, single_threaded};
  options.on_round_trip = [&](std::size_t commands, std::chrono::steady_clock::duration took) {
    ++round_trips;
    round_trip_commands += commands;
    instant_round_trip = instant_round_trip || took <= 0s;
  };
  async_pipeline pipeline(l.ioc, test_endpoint(), options);
  REQUIRE(wait_ready(pipeline));
  const std::string key = plumb::test_support::unique_name("t:pipe:");
  std::vector<std::future<outcome>> futures;
  for (int i = 0; i < 100; ++i) {
    futures.push_back(submit(pipeline, {{"INCR", key}, {"PEXPIRE", key, "60000"}}));
  }
  for (int i = 0; i < 100; ++i) {
    const auto got = futures[static_cast<std::size_t>(i)].get();
    CHECK(got.failure.empty());
    REQUIRE(got.replies.size() == 2);
    CHECK(got.replies[0].integer == i + 1);
    CHECK(got.replies[1].integer == 1);
  }
  const auto error = submit(pipeline, {{"INCR", key, "extra"}, {"GET", key}}).get();
  CHECK(error.failure.empty());
  REQUIRE(error.replies.size() == 2);
  CHECK(error.replies[0].is_error());  // an error reply fails that command only
  CHECK(error.replies[1].str == "100");
  CHECK(pipeline.pending_commands() == 0);
  // Every command was in exactly one reported round trip; submissions share writes.
  CHECK(round_trip_commands.load() == 202);
  CHECK(round_trips.load() >= 2);
  CHECK(round_trips.load() <= 101);
  CHECK_FALSE(instant_round_trip.load());
  l.stop();
  pipeline.close();
}

TEST_CASE("async_pipeline: a connection lost mid-batch reports the replies read before",
          "[redis]") {
  const bool single_threaded = GENERATE(false, true);
  loop l;
  async_pipeline pipeline(l.ioc, test_endpoint(), {1s, 50ms, single_threaded});
  REQUIRE(wait_ready(pipeline));
  // QUIT is answered, then Redis closes the connection: the PING after it is never answered.
  const auto got = submit(pipeline, {{"PING"}, {"QUIT"}, {"PING"}}).get();
  CHECK_FALSE(got.failure.empty());
  REQUIRE(got.replies.size() == 2);
  CHECK(got.replies[0].str == "PONG");
  // It reconnects by itself.
  REQUIRE(wait_ready(pipeline));
  CHECK(submit(pipeline, {{"PING"}}).get().replies.at(0).str == "PONG");
  l.stop();
  pipeline.close();
}

TEST_CASE("async_pipeline: refused, silent and closed connections fail their submissions",
          "[redis]") {
  SECTION("refused: never ready, submissions fail at once") {
    loopback_port refusing(loopback_port::mode::refusing);
    loop l;
    async_pipeline pipeline(l.ioc, at(refusing), {200ms, 50ms});
    std::this_thread::sleep_for(100ms);
    CHECK_FALSE(pipeline.ready());
    const auto got = submit(pipeline, {{"PING"}}).get();
    CHECK(got.failure == "redis pipeline not connected");
    CHECK(got.replies.empty());
    l.stop();
    pipeline.close();
  }
  SECTION("silent: the oldest unanswered command times out") {
    loopback_port silent(loopback_port::mode::silent);
    loop l;
    async_pipeline pipeline(l.ioc, at(silent), {200ms, 10s});
    REQUIRE(wait_ready(pipeline));  // no AUTH or SELECT to wait for
    const auto started = std::chrono::steady_clock::now();
    const auto got = submit(pipeline, {{"PING"}, {"PING"}}).get();
    const auto waited = std::chrono::steady_clock::now() - started;
    CHECK(got.failure.find("timed out") != std::string::npos);
    CHECK(got.replies.empty());
    CHECK(waited >= 200ms);
    CHECK(waited < 2s);
    CHECK_FALSE(pipeline.ready());
    l.stop();
    pipeline.close();
  }
  SECTION("closed: unfinished submissions fail inside close(), later ones at once") {
    loopback_port silent(loopback_port::mode::silent);
    loop l;
    async_pipeline pipeline(l.ioc, at(silent), {10s, 10s});
    REQUIRE(wait_ready(pipeline));
    auto unanswered = submit(pipeline, {{"PING"}});
    std::this_thread::sleep_for(50ms);
    l.stop();
    pipeline.close();
    REQUIRE(unanswered.wait_for(0s) == std::future_status::ready);
    CHECK(unanswered.get().failure == "redis pipeline closed");
    CHECK(submit(pipeline, {{"PING"}}).get().failure == "redis pipeline closed");
  }
}

TEST_CASE("async_pipeline: a reply that came in time is not timed out by a busy I/O thread",
          "[redis]") {
  // Redis answers within the timeout, but the I/O thread is busy past it before it reads the
  // reply, with the tick's handler queued ahead of the read's (a loaded machine). The command
  // must succeed: failing it would make the caller send it again, and Redis ran it already.
  // The test thread runs the io_context itself, so the handlers' order is the one described.
  loopback_port server(loopback_port::mode::silent);
  boost::asio::io_context ioc{1};
  async_pipeline pipeline(ioc, at(server), {200ms, 10s, true});
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!pipeline.ready() && std::chrono::steady_clock::now() < deadline) {
    ioc.run_one_for(10ms);
  }
  REQUIRE(pipeline.ready());
  const int redis_fd = server.accept_one();
  std::optional<outcome> got;
  const auto submitted = std::chrono::steady_clock::now();
  std::string ping;
  const std::string_view args[] = {"PING"};
  plumb::redis::append_command(ping, args);
  pipeline.submit(std::move(ping), 1, [&](std::span<const reply> replies, std::string_view failure) {
    got = outcome{{replies.begin(), replies.end()}, std::string(failure)};
  });
  char received[64];
  while (::recv(redis_fd, received, sizeof received, MSG_DONTWAIT) <= 0 &&
         std::chrono::steady_clock::now() < deadline) {
    ioc.run_one_for(10ms);  // until the PING is written
  }
  std::this_thread::sleep_for(100ms);  // a tick is due (every 50 ms); the PING is not overdue yet
  boost::asio::post(ioc, [&] {
    REQUIRE(::send(redis_fd, "+PONG\r\n", 7, 0) == 7);  // answered after 100 ms...
    std::this_thread::sleep_until(submitted + 300ms);   // ...read after 300 ms
  });
  while (!got && std::chrono::steady_clock::now() < deadline) {
    ioc.run_one_for(10ms);
  }
  REQUIRE(got);
  CHECK(got->failure.empty());
  REQUIRE(got->replies.size() == 1);
  CHECK(got->replies[0].str == "PONG");
  CHECK(pipeline.ready());
  pipeline.close();
  ::close(redis_fd);
}
