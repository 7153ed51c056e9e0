#include "plumb/core/text.hpp"

#include <catch2/catch.hpp>

using namespace plumb::core;

TEST_CASE("ASCII case helpers ignore non-ASCII bytes") {
  CHECK(ascii_lower("Content-TYPE") == "content-type");
  CHECK(ascii_lower("\xC3\x89t\xC3\xA9") == "\xC3\x89t\xC3\xA9");
  CHECK(iequals("User-Agent", "user-agent"));
  CHECK_FALSE(iequals("User-Agent", "user-agen"));
  CHECK(istarts_with("REDIS://x", "redis://"));
  CHECK_FALSE(istarts_with("red", "redis://"));
}

TEST_CASE("percent decoding: lenient keeps broken escapes, strict refuses them") {
  CHECK(percent_decode("a%20b+c", true) == "a b c");
  CHECK(percent_decode("a%20b+c", false) == "a b+c");
  CHECK(percent_decode("100%", false) == "100%");
  CHECK(percent_decode("%zz%4", false) == "%zz%4");
  CHECK(percent_decode("%e2%82%ac", false) == "\xE2\x82\xAC");
  CHECK(*percent_decode_strict("p%40ss") == "p@ss");
  CHECK_FALSE(percent_decode_strict("p%4"));
  CHECK_FALSE(percent_decode_strict("p%zzq"));
}

TEST_CASE("trim removes the given whitespace at both ends only") {
  CHECK(trim("  a b \t\r\n") == "a b");
  CHECK(trim(" \t ").empty());
  CHECK(trim("") .empty());
  CHECK(trim("\na\n", " \t") == "\na\n");
}
