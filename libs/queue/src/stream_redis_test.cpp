#include <catch2/catch.hpp>
#include <thread>

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

TEST_CASE(
    "appended entries reach the consumer group once, in order, and stay pending until acked") {
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

TEST_CASE("entries hold one field, and entries written as pairs or deferred read the same") {
  auto redis = connect();
  const events::keys keys(test_support::unique_name("t:") + ":");
  queue::append(redis, keys, entries(1));
  // As collectors wrote entries before the one field: the pairs themselves.
  redis.command({"XADD", keys.events_stream(), "*", "v", "1", "n", "page\r\nview", "i", "1"});
  const auto stored = redis.command({"XRANGE", keys.events_stream(), "-", "+"});
  REQUIRE(stored.elements.size() == 2);
  CHECK(stored.elements[0].elements.at(1).elements.size() == 2);  // "e" and the entry
  CHECK(stored.elements[0].elements.at(1).elements.at(0).str == queue::entry_field);

  queue::consumer consumer(redis, keys, "w");
  consumer.ensure_group();
  const auto got = consumer.read_new(10, std::chrono::milliseconds(100));
  REQUIRE(got.size() == 2);
  CHECK(got[0].fields == events::fields{{"v", "1"}, {"n", "page\r\nview"}, {"i", "0"}});
  CHECK(got[1].fields == events::fields{{"v", "1"}, {"n", "page\r\nview"}, {"i", "1"}});
  // Deferred entries keep their fields, whichever form they came in.
  consumer.defer(got, keys.deferred_stream());
  queue::consumer deferred(redis, keys, "w", keys.deferred_stream());
  deferred.ensure_group();
  const auto moved = deferred.read_new(10, std::chrono::milliseconds(100));
  REQUIRE(moved.size() == 2);
  CHECK(moved[0].fields == got[0].fields);
  CHECK(moved[1].fields == got[1].fields);
  redis.command({"DEL", keys.events_stream(), keys.deferred_stream()});
}

TEST_CASE("a packed entry's events are read one by one, and it is acknowledged with its last") {
  auto redis = connect();
  const events::keys keys(test_support::unique_name("t:") + ":");
  queue::consumer consumer(redis, keys, "w");
  consumer.ensure_group();
  std::vector<std::string> serialized;
  for (const char* id : {"a", "b", "c"}) {
    serialized.push_back(queue::serialize({{"v", "1"}, {"id", id}, {"site", "1"}}));
  }
  std::string protocol;
  REQUIRE(queue::xadd_encoder(keys.events_stream()).encode_entry(protocol, serialized));
  std::vector<redis::reply> replies;
  redis.pipeline_formatted(protocol, 1, replies);
  REQUIRE(redis.command({"XLEN", keys.events_stream()}).integer == 1);
  const auto pending_entries = [&] {
    return redis.command({"XPENDING", keys.events_stream(), events::keys::worker_group})
        .elements.at(0)
        .integer;
  };

  const auto got = consumer.read_new(10, std::chrono::milliseconds(100));
  REQUIRE(got.size() == 3);
  for (std::size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].stream_id == got[0].stream_id);
    CHECK(got[i].fields.at(1).second == std::string(1, static_cast<char>('a' + i)));
  }
  // Settled one way or another, each event keeps the entry pending until the last.
  consumer.ack(std::span(got).first(1));
  CHECK(pending_entries() == 1);
  consumer.defer(std::span(got).subspan(1, 1), keys.deferred_stream());
  CHECK(pending_entries() == 1);
  CHECK(redis.command({"XLEN", keys.deferred_stream()}).integer == 1);
  // Should the consumer stop now, the whole entry is delivered again.
  const auto again = consumer.read_pending(10);
  REQUIRE(again.size() == 3);
  consumer.dead_letter(got[2], "site: test");
  CHECK(pending_entries() == 0);
  CHECK(redis.command({"XLEN", keys.dead_letter_stream()}).integer == 1);

  // A claimed entry comes back as its events too.
  redis.pipeline_formatted(protocol, 1, replies);
  queue::consumer crashed(redis, keys, "crashed");
  REQUIRE(crashed.read_new(10, std::chrono::milliseconds(100)).size() == 3);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  const auto claim = consumer.claim_idle(std::chrono::milliseconds(10), 10, 5);
  REQUIRE(claim.claimed.size() == 3);
  consumer.ack(claim.claimed);
  CHECK(pending_entries() == 0);
  redis.command({"DEL", keys.events_stream(), keys.deferred_stream(), keys.dead_letter_stream()});
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

TEST_CASE("entries a crashed consumer left pending are claimed, or reported once exhausted") {
  auto redis = connect();
  const events::keys keys(test_support::unique_name("t:") + ":");
  queue::consumer crashed(redis, keys, "crashed");
  crashed.ensure_group();
  queue::append(redis, keys, entries(3));
  REQUIRE(crashed.read_new(10, std::chrono::milliseconds(100)).size() == 3);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));

  queue::consumer rescuer(redis, keys, "rescuer");
  // Not idle long enough yet: nothing is taken.
  CHECK(rescuer.claim_idle(std::chrono::hours(1), 10, 5).claimed.empty());
  const auto claim = rescuer.claim_idle(std::chrono::milliseconds(10), 10, 5);
  CHECK(claim.claimed.size() == 3);
  CHECK(claim.exhausted.empty());
  CHECK(crashed.read_pending(10).empty());  // they belong to the rescuer now
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  // Delivered twice by now: with a limit of 2 they are exhausted.
  const auto again = rescuer.claim_idle(std::chrono::milliseconds(10), 10, 2);
  CHECK(again.claimed.empty());
  CHECK(again.exhausted.size() == 3);
  redis.command({"DEL", keys.events_stream()});
}

TEST_CASE("dead letters can be listed and put back on the stream") {
  auto redis = connect();
  const events::keys keys(test_support::unique_name("t:") + ":");
  queue::consumer consumer(redis, keys, "w");
  consumer.ensure_group();
  queue::append(redis, keys, entries(2));
  const auto got = consumer.read_new(10, std::chrono::milliseconds(100));
  REQUIRE(got.size() == 2);
  consumer.dead_letter(got[0], "first problem");
  consumer.dead_letter(got[1], "second problem");
  const auto dead = queue::list_dead_letters(redis, keys, 10);
  REQUIRE(dead.size() == 2);
  CHECK(dead[0].error == "first problem");
  CHECK(dead[0].fields == got[0].fields);
  CHECK(queue::retry_dead_letter(redis, keys, dead[0].id));
  CHECK_FALSE(queue::retry_dead_letter(redis, keys, dead[0].id));
  CHECK(queue::list_dead_letters(redis, keys, 10).size() == 1);
  const auto retried = consumer.read_new(10, std::chrono::milliseconds(100));
  REQUIRE(retried.size() == 1);
  CHECK(retried[0].fields == got[0].fields);
  redis.command({"DEL", keys.events_stream(), keys.dead_letter_stream()});
}

TEST_CASE("trimming removes only entries every group received and acknowledged") {
  auto redis = connect();
  const events::keys keys(test_support::unique_name("t:") + ":");
  queue::append(redis, keys, entries(5));
  CHECK(queue::trim_consumed(redis, keys) == 0);  // no group yet: nothing is known consumed
  queue::consumer a(redis, keys, "a");
  a.ensure_group();
  const auto got = a.read_new(3, std::chrono::milliseconds(100));  // e1..e3 delivered
  REQUIRE(got.size() == 3);
  a.ack(std::span<const queue::message>(got.data(), 2));  // e1, e2 acknowledged; e3 pending
  CHECK(queue::trim_consumed(redis, keys) == 2);
  CHECK(redis.command({"XLEN", keys.events_stream()}).integer == 3);
  // The pending and undelivered entries are all still there for the group.
  a.ack(std::span<const queue::message>(got.data() + 2, 1));
  CHECK(queue::trim_consumed(redis, keys) == 1);
  CHECK(a.read_new(10, std::chrono::milliseconds(100)).size() == 2);  // e4, e5
  CHECK(queue::trim_consumed(redis, keys) == 0);  // delivered but not acknowledged
  redis.command({"DEL", keys.events_stream()});
}
