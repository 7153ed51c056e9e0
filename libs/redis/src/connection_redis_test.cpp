// Against a real Redis (PLUMB_TEST_REDIS_URL); every key starts with a per-run unique prefix.

#include <catch2/catch.hpp>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "plumb/redis/connection.hpp"
#include "plumb/test_support/environment.hpp"
#include "plumb/test_support/loopback_port.hpp"

using plumb::redis::connection;
using plumb::redis::endpoint;
using plumb::redis::reply;
using namespace std::chrono_literals;
using namespace std::string_literals;

namespace {

endpoint test_endpoint() {
  auto parsed = endpoint::parse_url(plumb::test_support::redis_url());
  if (!parsed) {
    throw std::runtime_error("PLUMB_TEST_REDIS_URL: " + parsed.error());
  }
  return *parsed;
}

}  // namespace

TEST_CASE("connection: SET and GET are binary safe", "[redis]") {
  connection redis(test_endpoint());
  const std::string key = plumb::test_support::unique_name("t:bin:");
  const std::string payload = "a\0b\r\n\xff"s + std::string(1, '\0');

  const reply set = redis.command({"SET", key, payload, "PX", "60000"});
  CHECK(set.type == reply::kind::status);
  CHECK(set.str == "OK");

  const reply get = redis.command({"GET", key});
  CHECK(get.type == reply::kind::string);
  CHECK(get.str == payload);
  CHECK(get.str.size() == 7);

  const reply empty_value = redis.command({"SET", key, ""});
  CHECK(empty_value.str == "OK");
  CHECK(redis.command({"GET", key}).str.empty());
  CHECK(redis.command({"STRLEN", key}).integer == 0);

  const reply deleted = redis.command({"DEL", key});
  CHECK(deleted.type == reply::kind::integer);
  CHECK(deleted.integer == 1);
  CHECK_FALSE(redis.broken());
}

TEST_CASE("connection: nil and error replies are values, not exceptions", "[redis]") {
  connection redis(test_endpoint());
  const std::string key = plumb::test_support::unique_name("t:kinds:");

  const reply missing = redis.command({"GET", key});
  CHECK(missing.is_nil());

  REQUIRE(redis.command({"SET", key, "text", "PX", "60000"}).str == "OK");
  const reply wrong_type = redis.command({"LPUSH", key, "x"});
  CHECK(wrong_type.is_error());
  CHECK_THAT(wrong_type.str, Catch::StartsWith("WRONGTYPE"));

  const reply unknown = redis.command({"NO-SUCH-COMMAND"});
  CHECK(unknown.is_error());
  CHECK_FALSE(redis.broken());  // a server error does not break the connection
  CHECK(redis.command({"PING"}).str == "PONG");
  redis.command({"DEL", key});
}

TEST_CASE("connection: arrays from a stream", "[redis]") {
  connection redis(test_endpoint());
  const std::string key = plumb::test_support::unique_name("t:stream:");

  const reply first = redis.command({"XADD", key, "*", "event", "view", "path", "/a"});
  REQUIRE(first.type == reply::kind::string);
  const reply second = redis.command({"XADD", key, "*", "event", "click"});
  REQUIRE(second.type == reply::kind::string);
  redis.command({"PEXPIRE", key, "60000"});

  const reply range = redis.command({"XRANGE", key, "-", "+"});
  REQUIRE(range.type == reply::kind::array);
  REQUIRE(range.elements.size() == 2);
  const reply& entry = range.elements[0];
  REQUIRE(entry.type == reply::kind::array);
  REQUIRE(entry.elements.size() == 2);
  CHECK(entry.elements[0].str == first.str);
  const auto& fields = entry.elements[1].elements;
  REQUIRE(fields.size() == 4);
  CHECK(fields[0].str == "event");
  CHECK(fields[1].str == "view");
  CHECK(fields[3].str == "/a");
  CHECK(range.elements[1].elements[0].str == second.str);

  const reply none = redis.command({"XRANGE", key, "0", "0"});
  CHECK(none.type == reply::kind::array);
  CHECK(none.elements.empty());
  redis.command({"DEL", key});
}

TEST_CASE("connection: a pipeline returns every reply in order", "[redis]") {
  connection redis(test_endpoint());
  const std::string key = plumb::test_support::unique_name("t:pipe:");
  constexpr int count = 100;

  std::vector<std::vector<std::string>> commands;
  commands.reserve(count);
  for (int i = 0; i < count; ++i) {
    commands.push_back({"RPUSH", key, std::to_string(i)});
  }
  const std::vector<reply> replies = redis.pipeline(commands);
  REQUIRE(replies.size() == count);
  for (int i = 0; i < count; ++i) {
    CHECK(replies[static_cast<std::size_t>(i)].integer == i + 1);  // list length after each push
  }

  // Errors inside a pipeline are just replies; the rest still run.
  const std::vector<reply> mixed =
      redis.pipeline({{"LINDEX", key, "42"}, {"INCR", key}, {"LLEN", key}, {"GET", key + ":none"}});
  REQUIRE(mixed.size() == 4);
  CHECK(mixed[0].str == "42");
  CHECK(mixed[1].is_error());
  CHECK(mixed[2].integer == count);
  CHECK(mixed[3].is_nil());

  CHECK(redis.pipeline({}).empty());
  CHECK_FALSE(redis.broken());
  redis.command({"DEL", key});
}

TEST_CASE("connection: a command timeout breaks the connection", "[redis]") {
  connection redis(test_endpoint(), {.connect = 2'000ms, .command = 100ms});
  const std::string key = plumb::test_support::unique_name("t:timeout:");

  const auto start = std::chrono::steady_clock::now();
  // Blocks for 1 s on an empty list: longer than the 100 ms command timeout.
  CHECK_THROWS_WITH(redis.command({"BLPOP", key, "1"}), Catch::Contains("timed out after 100 ms"));
  CHECK(std::chrono::steady_clock::now() - start < 900ms);
  CHECK(redis.broken());
  // Once broken, every call fails at once without touching the socket.
  CHECK_THROWS_WITH(redis.command({"PING"}), Catch::Contains("broken"));
  CHECK_THROWS_AS(redis.pipeline({{"PING"}}), plumb::redis::error);
}

TEST_CASE("connection: connecting to a closed port throws", "[redis]") {
  const plumb::test_support::loopback_port closed(plumb::test_support::loopback_port::mode::refusing);
  endpoint nowhere;
  nowhere.host = "127.0.0.1";
  nowhere.port = closed.port();
  CHECK_THROWS_AS(connection(nowhere, {.connect = 500ms, .command = 500ms}), plumb::redis::error);
}

TEST_CASE("connection: AUTH and SELECT happen on connect", "[redis]") {
  endpoint with_password = test_endpoint();
  with_password.password = "not-the-password";
  // The test server has no password (or another one): AUTH fails and the constructor throws.
  CHECK_THROWS_WITH(connection(with_password), Catch::Contains("AUTH"));

  endpoint db1 = test_endpoint();
  db1.database = 1;
  const std::string key = plumb::test_support::unique_name("t:db:");
  connection in_db1(db1);
  REQUIRE(in_db1.command({"SET", key, "1", "PX", "60000"}).str == "OK");
  endpoint db0 = test_endpoint();
  db0.database = 0;
  connection in_db0(db0);
  CHECK(in_db0.command({"EXISTS", key}).integer == 0);
  CHECK(in_db1.command({"DEL", key}).integer == 1);

  endpoint bad_db = test_endpoint();
  bad_db.database = 100'000;
  CHECK_THROWS_WITH(connection(bad_db), Catch::Contains("SELECT"));
}

TEST_CASE("connection: moved-from and invalid use", "[redis]") {
  connection first(test_endpoint());
  connection second(std::move(first));
  CHECK(second.command({"PING"}).str == "PONG");
  CHECK(first.broken());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  CHECK_THROWS_AS(first.command({"PING"}), plumb::redis::error);  // NOLINT(bugprone-use-after-move)

  CHECK_THROWS_AS(second.command(std::vector<std::string_view>{}), std::invalid_argument);
  CHECK_THROWS_AS(second.pipeline({{"PING"}, {}}), std::invalid_argument);
  CHECK_FALSE(second.broken());  // rejected before anything was sent
  CHECK(second.command({"PING"}).str == "PONG");
}
