// The I/O-thread fast path against a real Redis (PLUMB_TEST_REDIS_URL) and against a Redis that
// never answers: every hit completes once, and what Redis did not confirm ends in the spool.

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include "plumb/queue/stream.hpp"
#include "plumb/test_support/environment.hpp"
#include "plumb/test_support/loopback_port.hpp"
#include "stream_writer.hpp"

using namespace plumb;
using namespace plumb::collector;
using namespace std::chrono_literals;

namespace {

redis::endpoint test_endpoint() {
  return *redis::endpoint::parse_url(test_support::redis_url());
}

// Accepts connections into its backlog and never answers: a Redis slower than any timeout.
struct silent_redis {
  test_support::loopback_port port{test_support::loopback_port::mode::silent};
  redis::endpoint where() const {
    redis::endpoint e;
    e.port = port.port();
    return e;
  }
};

// The publisher, the writer and an io_context run by one thread, wired as in main.cpp.
std::string entry(int i) {
  return queue::serialize(events::fields{{"id", std::to_string(i)}, {"n", "pageview"}});
}

struct fixture {
  events::keys keys{test_support::unique_name("t:") + ":"};
  std::filesystem::path spool_dir =
      std::filesystem::temp_directory_path() / test_support::unique_name("spool-");
  log::logger log{"collector-test", log::level::error};
  metrics::registry registry;
  std::optional<publisher> pub;
  std::optional<stream_writer> writer;
  boost::asio::io_context ioc{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work{
      ioc.get_executor()};
  std::thread thread;

  std::mutex mutex;
  std::vector<bool> outcomes;

  fixture(const redis::endpoint& where, std::chrono::milliseconds timeout) {
    publisher_options p;
    p.endpoint = where;
    p.keys = keys;
    p.spool.directory = spool_dir;
    p.redis_timeout = timeout;
    pub.emplace(p, log, registry);
    pub->start();
    writer.emplace(*pub, stream_writer_options{where, keys, 100'000, timeout, 1s, true}, log,
                   registry);
    writer->attach(ioc);
    thread = std::thread([this] { ioc.run(); });
  }

  // As http::server::stop() and main.cpp do: join the I/O thread, detach, stop the publisher.
  void stop(std::chrono::milliseconds publisher_grace = 5s) {
    if (thread.joinable()) {
      work.reset();
      ioc.stop();
      thread.join();
      writer->detach();
      pub->stop(publisher_grace);
    }
  }
  ~fixture() {
    stop();
    std::filesystem::remove_all(spool_dir);
  }

  bool submit(std::string record) {
    std::vector<std::string> records{std::move(record)};
    // Submitted from the I/O thread, like the HTTP handlers do.
    std::promise<bool> taken;
    boost::asio::post(ioc, [&] {
      taken.set_value(writer->submit(std::move(records), [this](bool stored) {
        const std::lock_guard lock(mutex);
        outcomes.push_back(stored);
      }));
    });
    return taken.get_future().get();
  }

  // Hits taken in one turn of the event loop, as when one wait finds many requests ready.
  bool submit_in_one_turn(int first, int count) {
    std::promise<bool> taken;
    boost::asio::post(ioc, [&] {
      bool all = true;
      for (int i = first; i < first + count; ++i) {
        all = writer->submit({entry(i)}, [this](bool stored) {
          const std::lock_guard lock(mutex);
          outcomes.push_back(stored);
        }) && all;
      }
      taken.set_value(all);
    });
    return taken.get_future().get();
  }

  std::size_t completed(std::chrono::milliseconds limit, std::size_t expected) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      {
        const std::lock_guard lock(mutex);
        if (outcomes.size() >= expected || std::chrono::steady_clock::now() > deadline) {
          return outcomes.size();
        }
      }
      std::this_thread::sleep_for(5ms);
    }
  }

  bool all_stored() {
    const std::lock_guard lock(mutex);
    return std::all_of(outcomes.begin(), outcomes.end(), [](bool b) { return b; });
  }

  double metric(std::string_view name) {
    const std::string text = registry.render();
    const auto at = text.find("\n" + std::string(name) + " ");
    return at == std::string::npos ? -1 : std::strtod(text.c_str() + at + name.size() + 2, nullptr);
  }
};

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds limit = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

}  // namespace

TEST_CASE("healthy Redis: hits are appended in order on the I/O thread, not by the publisher") {
  fixture f(test_endpoint(), 1s);
  REQUIRE(wait_until([&] { return f.writer->pipeline_ready(); }));
  constexpr int hits = 300;
  for (int i = 0; i < hits; ++i) {
    REQUIRE(f.submit(entry(i)));
  }
  REQUIRE(f.completed(5s, hits) == hits);
  CHECK(f.all_stored());
  CHECK(f.metric("plumb_collector_appended_total") == hits);
  CHECK(f.metric("plumb_collector_handed_to_publisher_total") == 0);
  CHECK(f.metric("plumb_collector_spooled_total") == 0);
  // The publisher's Redis metrics: events per entry, and round trips (each with an entry or more).
  CHECK(f.metric("plumb_collector_batch_events_sum") == hits);
  CHECK(f.metric("plumb_collector_batch_events_count") >= 1);
  CHECK(f.metric("plumb_collector_redis_append_seconds_count") >= 1);
  CHECK(f.metric("plumb_collector_redis_append_seconds_count") <=
        f.metric("plumb_collector_batch_events_count"));
  redis::connection redis(test_endpoint());
  const auto range = redis.command({"XRANGE", f.keys.events_stream(), "-", "+"});
  std::vector<std::string> stored;  // the events' first values, in stream order
  for (const auto& entry : range.elements) {
    for (const auto& fields : queue::entry_events(entry.elements.at(1))) {
      stored.push_back(fields.at(0).second);
    }
  }
  REQUIRE(stored.size() == hits);
  for (int i = 0; i < hits; ++i) {
    CHECK(stored[static_cast<std::size_t>(i)] == std::to_string(i));
  }
  redis.command({"DEL", f.keys.events_stream()});
}

TEST_CASE("the hits of one turn of the event loop share stream entries, up to the entry limit") {
  fixture f(test_endpoint(), 1s);
  REQUIRE(wait_until([&] { return f.writer->pipeline_ready(); }));
  const int hits = static_cast<int>(queue::max_events_per_entry) + 8;
  REQUIRE(f.submit_in_one_turn(0, hits));
  REQUIRE(f.completed(5s, static_cast<std::size_t>(hits)) == static_cast<std::size_t>(hits));
  CHECK(f.all_stored());
  redis::connection redis(test_endpoint());
  const auto range = redis.command({"XRANGE", f.keys.events_stream(), "-", "+"});
  REQUIRE(range.elements.size() == 2);
  const auto full = queue::entry_events(range.elements[0].elements.at(1));
  const auto rest = queue::entry_events(range.elements[1].elements.at(1));
  REQUIRE(full.size() == queue::max_events_per_entry);
  REQUIRE(rest.size() == 8);
  CHECK(full.front().at(0).second == "0");
  CHECK(rest.back().at(0).second == std::to_string(hits - 1));
  CHECK(f.metric("plumb_collector_batch_events_count") == 2);
  redis.command({"DEL", f.keys.events_stream()});
}

TEST_CASE("a Redis slower than the timeout: the unconfirmed events are spooled, each once") {
  silent_redis silent;
  fixture f(silent.where(), 200ms);
  REQUIRE(wait_until([&] { return f.writer->pipeline_ready(); }));
  constexpr int hits = 20;
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < hits; ++i) {
    REQUIRE(f.submit(entry(i)));
  }
  // The pipeline times out, hands all 20 to the publisher, whose own append times out: spool.
  REQUIRE(f.completed(5s, hits) == hits);
  CHECK(std::chrono::steady_clock::now() - started >= 200ms);
  CHECK(f.all_stored());
  CHECK(f.metric("plumb_collector_handed_to_publisher_total") == hits);
  CHECK(f.metric("plumb_collector_spooled_total") == hits);
  CHECK(f.metric("plumb_collector_spool_pending_events") == hits);
  CHECK(f.metric("plumb_collector_appended_total") == 0);
  // Meanwhile hits bypass the failed pipeline and go straight to the publisher.
  CHECK_FALSE(f.writer->pipeline_ready());
  REQUIRE(f.submit(entry(hits)));
  REQUIRE(f.completed(5s, hits + 1) == hits + 1);
  CHECK(f.metric("plumb_collector_spooled_total") == hits + 1);
  CHECK(f.metric("plumb_collector_handed_to_publisher_total") == hits);
}

TEST_CASE("shutdown hands the unconfirmed events to the publisher, which spools them") {
  silent_redis silent;
  fixture f(silent.where(), 2s);
  REQUIRE(wait_until([&] { return f.writer->pipeline_ready(); }));
  for (int i = 0; i < 5; ++i) {
    REQUIRE(f.submit(entry(i)));
  }
  std::this_thread::sleep_for(50ms);
  CHECK(f.completed(0ms, 5) == 0);  // Redis never answers and the timeout is far away
  f.stop(0ms);  // no grace: the publisher spools what it was handed without trying Redis
  CHECK(f.completed(0ms, 5) == 5);
  CHECK(f.all_stored());
  CHECK(f.metric("plumb_collector_spooled_total") == 5);
}
