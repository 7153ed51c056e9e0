#include "plumb/core/clock.hpp"

#include <catch2/catch.hpp>

using namespace plumb::core;

TEST_CASE("format_utc renders RFC 3339 with milliseconds") {
  CHECK(format_utc(0) == "1970-01-01T00:00:00.000Z");
  CHECK(format_utc(1'701'246'090'317) == "2023-11-29T08:21:30.317Z");
  CHECK(format_utc(951'782'400'000) == "2000-02-29T00:00:00.000Z");
}

TEST_CASE("fake_clock moves only when told to") {
  fake_clock clock(from_unix_ms(1'000));
  CHECK(unix_ms(clock.now()) == 1'000);
  clock.advance(std::chrono::milliseconds(250));
  CHECK(unix_ms(clock.now()) == 1'250);
  clock.set(from_unix_ms(5));
  CHECK(unix_ms(clock.now()) == 5);
}
