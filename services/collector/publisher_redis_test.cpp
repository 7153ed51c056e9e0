// The publisher's replay against a real Redis (PLUMB_TEST_REDIS_URL): entries whose XADD may have
// run already - handed over unconfirmed, or in a replay batch a SIGKILL interrupted - reach the
// stream exactly once.

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <thread>

#include "plumb/queue/stream.hpp"
#include "plumb/spool/spool.hpp"
#include "plumb/test_support/environment.hpp"
#include "publisher.hpp"

using namespace plumb;
using namespace plumb::collector;
using namespace std::chrono_literals;

namespace {

redis::endpoint test_endpoint() {
  return *redis::endpoint::parse_url(test_support::redis_url());
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A stream entry with a real event id, as the collector serialises it.
std::string entry(int i) {
  const auto ts = now_ms();
  return queue::serialize(events::fields{{"v", "1"},
                                         {"id", "event-" + std::to_string(i)},
                                         {"ts", std::to_string(ts)},
                                         {"n", "pageview"}});
}

std::vector<std::string> entries(int count) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) {
    out.push_back(entry(i));
  }
  return out;
}

// event id -> how many events of the stream carry it.
std::map<std::string, int> ids_in_stream(redis::connection& redis, const events::keys& keys) {
  std::map<std::string, int> count;
  const auto range = redis.command({"XRANGE", keys.events_stream(), "-", "+"});
  for (const auto& e : range.elements) {
    for (const auto& fields : queue::entry_events(e.elements.at(1))) {
      ++count[fields.at(1).second];  // "v", then "id"
    }
  }
  return count;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

struct fixture {
  events::keys keys{test_support::unique_name("t:") + ":"};
  std::filesystem::path spool_dir =
      std::filesystem::temp_directory_path() / test_support::unique_name("spool-");
  log::logger log{"collector-test", log::level::error};
  metrics::registry registry;
  redis::connection redis{test_endpoint()};

  publisher_options options() const {
    publisher_options p;
    p.endpoint = test_endpoint();
    p.keys = keys;
    p.spool.directory = spool_dir;
    return p;
  }
  double metric(std::string_view name) {
    const std::string text = registry.render();
    const auto at = text.find("\n" + std::string(name) + " ");
    return at == std::string::npos ? -1 : std::strtod(text.c_str() + at + name.size() + 2, nullptr);
  }
  ~fixture() {
    redis.command({"DEL", keys.events_stream()});
    std::filesystem::remove_all(spool_dir);
  }
};

}  // namespace

TEST_CASE("a replay killed after its XADDs ran appends only what is missing after the restart") {
  fixture f;
  const auto records = entries(100);
  {
    // The killed collector: spooled 100 entries, marked them in flight, and its XADDs for the
    // first 60 ran before the SIGKILL (so nothing was committed).
    spool::spool spool(f.options().spool);
    REQUIRE(spool.append(records));
    auto batch = spool.next_batch(1'000);
    REQUIRE(batch);
    REQUIRE(batch->records.size() == 100);
    REQUIRE(spool.mark_in_flight(batch->end, static_cast<std::uint64_t>(now_ms())));
    queue::append(f.redis, f.keys, std::span(records).first(60));
  }
  publisher pub(f.options(), f.log, f.registry);
  pub.start();
  REQUIRE(wait_until([&] { return f.metric("plumb_collector_spool_pending_events") == 0; }));
  pub.stop(1s);
  const auto ids = ids_in_stream(f.redis, f.keys);
  CHECK(ids.size() == 100);
  for (const auto& [id, count] : ids) {
    INFO(id);
    CHECK(count == 1);
  }
  CHECK(f.metric("plumb_collector_replay_found_in_stream_total") == 60);
  CHECK(f.metric("plumb_collector_replayed_total") == 40);
}

TEST_CASE("entries handed over as maybe appended are spooled and appended only if not found") {
  fixture f;
  const auto records = entries(10);
  // The I/O thread's XADDs for the first 4 ran; their replies never came.
  queue::append(f.redis, f.keys, std::span(records).first(4));
  publisher pub(f.options(), f.log, f.registry);
  pub.start();
  std::atomic<int> stored{0};
  REQUIRE(pub.submit(
      records, [&](bool ok) { stored += ok ? 1 : 0; }, true));
  // Entries never sent go straight to Redis, without a check.
  REQUIRE(pub.submit({entry(10)}, [&](bool ok) { stored += ok ? 1 : 0; }));
  REQUIRE(wait_until([&] {
    return stored == 2 && f.metric("plumb_collector_spool_pending_events") == 0 &&
           f.metric("plumb_collector_spooled_total") == 10;
  }));
  pub.stop(1s);
  const auto ids = ids_in_stream(f.redis, f.keys);
  CHECK(ids.size() == 11);
  for (const auto& [id, count] : ids) {
    INFO(id);
    CHECK(count == 1);
  }
  CHECK(f.metric("plumb_collector_replay_found_in_stream_total") == 4);
  CHECK(f.metric("plumb_collector_replayed_total") == 6);
}
