#include <catch2/catch.hpp>
#include <string>

#include "plumb/redis/connection.hpp"

using plumb::redis::endpoint;

namespace {

// The error of a rejected URL ("" when it parsed).
std::string error_of(std::string_view url) {
  auto parsed = endpoint::parse_url(url);
  return parsed ? std::string() : parsed.error();
}

}  // namespace

TEST_CASE("parse_url: full form", "[redis]") {
  auto e = endpoint::parse_url("redis://:s3cret@cache.internal:6380/2");
  REQUIRE(e);
  CHECK(e->host == "cache.internal");
  CHECK(e->port == 6380);
  CHECK(e->database == 2);
  CHECK(e->password == "s3cret");
}

TEST_CASE("parse_url: defaults", "[redis]") {
  auto e = endpoint::parse_url("redis://localhost");
  REQUIRE(e);
  CHECK(e->host == "localhost");
  CHECK(e->port == 6379);
  CHECK(e->database == 0);
  CHECK_FALSE(e->password);

  auto slash = endpoint::parse_url("redis://10.0.0.1/");
  REQUIRE(slash);
  CHECK(slash->host == "10.0.0.1");
  CHECK(slash->database == 0);

  auto port_only = endpoint::parse_url("REDIS://127.0.0.1:6391");
  REQUIRE(port_only);
  CHECK(port_only->port == 6391);
  CHECK(port_only->database == 0);
}

TEST_CASE("parse_url: IPv6", "[redis]") {
  auto e = endpoint::parse_url("redis://[::1]:6379/3");
  REQUIRE(e);
  CHECK(e->host == "::1");
  CHECK(e->port == 6379);
  CHECK(e->database == 3);

  auto no_port = endpoint::parse_url("redis://[fe80::1]");
  REQUIRE(no_port);
  CHECK(no_port->host == "fe80::1");
  CHECK(no_port->port == 6379);
}

TEST_CASE("parse_url: credentials", "[redis]") {
  auto user = endpoint::parse_url("redis://default:pw@h");
  REQUIRE(user);
  CHECK(user->password == "pw");

  // Percent-escapes let a password hold the URL's own delimiters.
  auto escaped = endpoint::parse_url("redis://:p%40ss%3Aw%2Fd@h:1/0");
  REQUIRE(escaped);
  CHECK(escaped->password == "p@ss:w/d");
  CHECK(escaped->host == "h");

  // A raw '@' in the password still works: the last '@' ends the credentials.
  auto raw_at = endpoint::parse_url("redis://:a@b@h");
  REQUIRE(raw_at);
  CHECK(raw_at->password == "a@b");
  CHECK(raw_at->host == "h");
}

TEST_CASE("parse_url: errors name the wrong part", "[redis]") {
  CHECK_THAT(error_of("http://h:6379/0"), Catch::StartsWith("bad scheme"));
  CHECK_THAT(error_of("h:6379"), Catch::StartsWith("bad scheme"));
  CHECK_THAT(error_of(""), Catch::StartsWith("bad scheme"));
  CHECK_THAT(error_of("rediss://h"), Catch::Contains("TLS"));
  CHECK_THAT(error_of("redis://"), Catch::StartsWith("missing host"));
  CHECK_THAT(error_of("redis://:6379/0"), Catch::StartsWith("missing host"));
  CHECK_THAT(error_of("redis://:pw@/0"), Catch::StartsWith("missing host"));
  CHECK_THAT(error_of("redis://h:/0"), Catch::StartsWith("bad port ''"));
  CHECK_THAT(error_of("redis://h:abc"), Catch::StartsWith("bad port 'abc'"));
  CHECK_THAT(error_of("redis://h:0"), Catch::StartsWith("bad port '0'"));
  CHECK_THAT(error_of("redis://h:65536"), Catch::StartsWith("bad port '65536'"));
  CHECK_THAT(error_of("redis://h:-1"), Catch::StartsWith("bad port"));
  CHECK_THAT(error_of("redis://h:6379/x"), Catch::StartsWith("bad database 'x'"));
  CHECK_THAT(error_of("redis://h:6379/-1"), Catch::StartsWith("bad database"));
  CHECK_THAT(error_of("redis://h:6379/0?timeout=1"), Catch::StartsWith("bad database"));
  CHECK_THAT(error_of("redis://h/99999999999"), Catch::StartsWith("bad database"));
  CHECK_THAT(error_of("redis://::1:6379"), Catch::Contains("IPv6"));
  CHECK_THAT(error_of("redis://[::1:6379"), Catch::Contains("IPv6"));
  CHECK_THAT(error_of("redis://[::1]6379"), Catch::StartsWith("bad host"));
  CHECK_THAT(error_of("redis://alice:pw@h"), Catch::Contains("user name 'alice'"));
  CHECK_THAT(error_of("redis://pw@h"), Catch::StartsWith("bad credentials"));
  CHECK_THAT(error_of("redis://:@h"), Catch::StartsWith("bad password"));
  CHECK_THAT(error_of("redis://:p%4@h"), Catch::StartsWith("bad password"));
  CHECK_THAT(error_of("redis://:p%zz@h"), Catch::StartsWith("bad password"));
}

TEST_CASE("parse_url: errors never echo the password", "[redis]") {
  CHECK_THAT(error_of("redis://:hunter2@h:bad"), !Catch::Contains("hunter2"));
  CHECK_THAT(error_of("redis://hunter2@h"), !Catch::Contains("hunter2"));
  CHECK_THAT(error_of("redis://:hunter2%@h"), !Catch::Contains("hunter2"));
}
