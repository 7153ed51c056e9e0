#include "plumb/queue/write_slots.hpp"

#include <catch2/catch.hpp>
#include <thread>

#include "plumb/test_support/environment.hpp"

using namespace plumb;

TEST_CASE("write slots cap concurrent holders, renew, release and expire") {
  redis::connection redis(*redis::endpoint::parse_url(test_support::redis_url()));
  const events::keys keys(test_support::unique_name("slots:") + ":");
  queue::write_slots slots(redis, keys, 2, std::chrono::milliseconds(300));
  using std::chrono::milliseconds;

  CHECK(slots.acquire("a", milliseconds(0)));
  CHECK(slots.acquire("b", milliseconds(0)));
  CHECK_FALSE(slots.acquire("c", milliseconds(50)));  // both taken
  CHECK(slots.acquire("a", milliseconds(0)));          // a holder renews its own lease
  slots.release("a");
  CHECK(slots.acquire("c", milliseconds(0)));
  CHECK_FALSE(slots.acquire("d", milliseconds(0)));
  // A holder that never releases (a killed worker) frees its slot when the lease runs out.
  CHECK(slots.acquire("d", milliseconds(2'000)));
  redis.command({"DEL", keys.db_write_slots()});
}
