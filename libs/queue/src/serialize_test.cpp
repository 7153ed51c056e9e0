#include <catch2/catch.hpp>

#include "plumb/queue/stream.hpp"

using namespace plumb;

TEST_CASE("serialised entries round-trip, binary-safe") {
  const events::fields entry{{"v", "1"}, {"u", "https://a.example/\r\n$3\r\n"}, {"ua", std::string("a\0b", 3)}};
  const auto record = queue::serialize(entry);
  CHECK(record.rfind("*6\r\n$1\r\nv\r\n", 0) == 0);
  const auto back = queue::deserialize(record);
  REQUIRE(back);
  CHECK(*back == entry);
}

TEST_CASE("malformed serialised entries are refused") {
  const auto good = queue::serialize({{"v", "1"}});
  CHECK(queue::deserialize(good));
  CHECK_FALSE(queue::deserialize(""));
  CHECK_FALSE(queue::deserialize(good.substr(0, good.size() - 1)));
  CHECK_FALSE(queue::deserialize(good + "x"));
  CHECK_FALSE(queue::deserialize("*1\r\n$1\r\nv\r\n"));    // odd number of arguments
  CHECK_FALSE(queue::deserialize("*2\r\n$9\r\nv\r\n$1\r\n1\r\n"));  // length past the end
  CHECK_FALSE(queue::deserialize("*x\r\n"));
}
