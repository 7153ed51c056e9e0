#include <catch2/catch.hpp>

#include "plumb/queue/stream.hpp"
#include "plumb/test_support/environment.hpp"

using namespace plumb;

namespace {

redis::connection connect() {
  return redis::connection(*redis::endpoint::parse_url(test_support::redis_url()));
}

std::vector<std::string> entries(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(queue::serialize({{"v", "1"}, {"n", "page\r\nview"}, {"i", std::to_string(i)}}));
  }
  return out;
}

}  // namespace

TEST_CASE("appended entries reach the consumer group once, in order, and stay pending until acked") {
  auto redis = connect();
  const events::keys keys(test_support::unique_name("t:") + ":");
  // Entries appended before any worker created the group must not be skipped.
  queue::append(redis, keys, entries(3));
  queue::consumer first(redis, keys, "first");
  first.ensure_group();
  first.ensure_group();  // idempotent

  const auto got = first.read_new(10, std::chrono::milliseconds(100));
  REQUIRE(got.size() == 3);
  for (int i = 0; i < 3; ++i) {
    CHECK(got[static_cast<std::size_t>(i)].fields.back().second == std::to_string(i));
    CHECK(got[static_cast<std::size_t>(i)].fields[1].second == "page\r\nview");  // binary-safe
  }
  CHECK(first.read_new(10, std::chrono::milliseconds(10)).empty());

  // Not acknowledged: after a "crash" the same consumer name sees them again as pending.
  queue::consumer restarted(redis, keys, "first");
  CHECK(restarted.read_pending(10).size() == 3);
  restarted.ack(got);
  CHECK(restarted.read_pending(10).empty());

  // A second consumer shares the work instead of seeing the same entries.
  queue::append(redis, keys, entries(2));
  queue::consumer second(redis, keys, "second");
  const auto a = first.read_new(1, std::chrono::milliseconds(100));
  const auto b = second.read_new(10, std::chrono::milliseconds(100));
  CHECK(a.size() + b.size() == 2);
  redis.command({"DEL", keys.events_stream()});
}

TEST_CASE("dead-lettered entries keep their fields and error and leave the pending list") {
  auto redis = connect();
  const events::keys keys(test_support::unique_name("t:") + ":");
  queue::consumer consumer(redis, keys, "w");
  consumer.ensure_group();
  queue::append(redis, keys, entries(1));
  const auto got = consumer.read_new(1, std::chrono::milliseconds(100));
  REQUIRE(got.size() == 1);
  consumer.dead_letter(got[0], "v: unsupported stream entry version");
  CHECK(consumer.read_pending(10).empty());
  const auto dead = redis.command({"XRANGE", keys.dead_letter_stream(), "-", "+"});
  REQUIRE(dead.elements.size() == 1);
  const auto& fields = dead.elements[0].elements[1].elements;
  CHECK(fields[0].str == "error");
  CHECK(fields[1].str == "v: unsupported stream entry version");
  redis.command({"DEL", keys.events_stream(), keys.dead_letter_stream()});
}
