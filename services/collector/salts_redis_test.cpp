// Daily salts shared through Redis: what two collectors agree on, and when salts change and go.
#include <catch2/catch.hpp>

#include "plumb/test_support/environment.hpp"
#include "salts.hpp"

using namespace plumb;
using namespace plumb::collector;

namespace {
redis::connection connect() {
  return redis::connection(*redis::endpoint::parse_url(test_support::redis_url()));
}
}  // namespace

TEST_CASE("two collectors derive identical visitor hashes from the shared salt") {
  auto redis = connect();
  const events::keys keys(test_support::unique_name("t:") + ":");
  // Salts expire at an absolute time, so tests use days that are still to come.
  const auto now = core::from_unix_ms(4'102'444'800'000 + 13 * 3'600'000);  // 2100-01-01T13:00Z
  salt_store first;
  salt_store second;
  first.refresh(redis, keys, now);
  second.refresh(redis, keys, now);
  const auto a = first.hashes(42, "203.0.113.7", "UA", now);
  const auto b = second.hashes(42, "203.0.113.7", "UA", now);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->today == b->today);
  // Per-site salting: the same person on another site gets an unrelated hash.
  CHECK(first.hashes(43, "203.0.113.7", "UA", now)->today != a->today);
  // Salts are 32 bytes of randomness, not something derivable.
  const auto salt = redis.command({"GET", keys.daily_salt("2100-01-01")});
  CHECK(salt.str.size() == salt_bytes);
  redis.command({"DEL", keys.daily_salt("2100-01-01"), keys.daily_salt("2100-01-02")});
}

TEST_CASE("a new salt takes over at 00:00 UTC and yesterday's continues visits") {
  auto redis = connect();
  const events::keys keys(test_support::unique_name("t:") + ":");
  core::fake_clock clock(core::from_unix_ms(4'102'444'800'000 + 86'399'000));  // 2100-01-01T23:59:59Z
  salt_store store;
  store.refresh(redis, keys, clock.now());
  const auto before = store.hashes(1, "203.0.113.7", "UA", clock.now());
  clock.advance(std::chrono::seconds(2));  // 2100-01-02T00:00:01Z
  // Tomorrow's salt was loaded ahead of time: hashing works across midnight without Redis.
  const auto after = store.hashes(1, "203.0.113.7", "UA", clock.now());
  REQUIRE(before);
  REQUIRE(after);
  CHECK(after->today != before->today);
  CHECK(after->previous == before->today);  // lets a worker continue the visit across midnight
  redis.command({"DEL", keys.daily_salt("2100-01-01"), keys.daily_salt("2100-01-02")});
}

TEST_CASE("salts expire when the day after their day ends, and are never recreated for the past") {
  auto redis = connect();
  const events::keys keys(test_support::unique_name("t:") + ":");
  // A fixed date far in the future, so the absolute expiry has not passed yet.
  const auto now = core::from_unix_ms(4'102'444'800'000 + 3'600'000);  // 2100-01-01T01:00:00Z
  salt_store store;
  store.refresh(redis, keys, now);
  // The salt of 2100-01-01 is deleted at the end of 2100-01-02 = 2100-01-03T00:00:00Z.
  const auto expires = redis.command({"EXPIRETIME", keys.daily_salt("2100-01-01")});
  CHECK(expires.integer == 4'102'444'800 + 2 * 86'400);
  // Yesterday's salt is only read, never created: no one can get a salt for a day that is over.
  CHECK(redis.command({"EXISTS", keys.daily_salt("2099-12-31")}).integer == 0);
  CHECK_FALSE(store.hashes(1, "203.0.113.7", "UA", now)->previous != 0);
  redis.command({"DEL", keys.daily_salt("2100-01-01"), keys.daily_salt("2100-01-02")});
}
