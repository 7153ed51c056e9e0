#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <string>

#include "plumb/json/value.hpp"

using plumb::json::parse;
using plumb::json::value;
using namespace std::string_literals;

namespace {

// The error message of a rejected document ("" when it parsed).
std::string error_of(std::string_view text, std::size_t max_depth = 32) {
  auto result = parse(text, max_depth);
  return result ? std::string() : result.error().message;
}

std::string nested_arrays(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

}  // namespace

TEST_CASE("parse: scalars", "[json]") {
  auto null = parse("null");
  REQUIRE(null);
  CHECK(null->is_null());
  CHECK(null->type() == value::kind::null);

  auto t = parse("true");
  REQUIRE(t);
  CHECK(t->as_bool() == true);
  CHECK_FALSE(t->as_int());

  auto i = parse(" -42 ");
  REQUIRE(i);
  CHECK(i->type() == value::kind::integer);
  CHECK(i->as_int() == -42);
  CHECK(i->as_double() == -42.0);
  CHECK_FALSE(i->as_bool());

  auto d = parse("2.5e1");
  REQUIRE(d);
  CHECK(d->type() == value::kind::number);
  CHECK(d->as_double() == 25.0);
  CHECK(d->as_int() == 25);  // whole doubles convert

  auto frac = parse("0.5");
  REQUIRE(frac);
  CHECK_FALSE(frac->as_int());

  auto s = parse(R"("a\"b\\c\n\u00e9\ud83d\ude00")");
  REQUIRE(s);
  REQUIRE(s->as_string() != nullptr);
  CHECK(*s->as_string() == "a\"b\\c\n\xC3\xA9\xF0\x9F\x98\x80");
  CHECK(s->as_array() == nullptr);
  CHECK(s->find("x") == nullptr);
}

TEST_CASE("parse: strings keep embedded NUL", "[json]") {
  auto s = parse(R"("a\u0000b")");
  REQUIRE(s);
  CHECK(*s->as_string() == "a\0b"s);
}

TEST_CASE("parse: integers and their limits", "[json]") {
  constexpr auto max = std::numeric_limits<std::int64_t>::max();
  constexpr auto min = std::numeric_limits<std::int64_t>::min();
  CHECK(parse("9223372036854775807")->as_int() == max);
  CHECK(parse("-9223372036854775808")->as_int() == min);

  // Beyond int64 but inside uint64: kept as the nearest double.
  auto above = parse("9223372036854775808");
  REQUIRE(above);
  CHECK(above->type() == value::kind::number);
  CHECK(above->as_double() == 9223372036854775808.0);
  CHECK_FALSE(above->as_int());  // 2^63 does not fit int64

  auto umax = parse("18446744073709551615");
  REQUIRE(umax);
  CHECK(umax->type() == value::kind::number);
  CHECK(umax->as_double() == 18446744073709551616.0);

  // simdjson 3.0 rejects integers outside [INT64_MIN, UINT64_MAX] and overflowing doubles.
  CHECK(error_of("18446744073709551616") == "invalid number");
  CHECK(error_of("-9223372036854775809") == "invalid number");
  CHECK(error_of("1e400") == "invalid number");
  CHECK(error_of("01") == "invalid number");
}

TEST_CASE("parse: nested objects and arrays", "[json]") {
  auto doc = parse(R"({"site": {"id": 7, "tags": ["a", "b", null], "ratio": 0.25}, "ok": false})");
  REQUIRE(doc);
  REQUIRE(doc->is_object());
  CHECK(doc->as_object()->size() == 2);
  CHECK(doc->as_object()->front().first == "site");  // document order

  const value* site = doc->find("site");
  REQUIRE(site != nullptr);
  CHECK(site->find("id")->as_int() == 7);
  CHECK(site->find("ratio")->as_double() == 0.25);
  CHECK(site->find("missing") == nullptr);

  const value* tags = site->find("tags");
  REQUIRE(tags != nullptr);
  REQUIRE(tags->is_array());
  const auto& items = *tags->as_array();
  REQUIRE(items.size() == 3);
  CHECK(*items[0].as_string() == "a");
  CHECK(*items[1].as_string() == "b");
  CHECK(items[2].is_null());

  CHECK(doc->find("ok")->as_bool() == false);
  CHECK(parse("[]")->as_array()->empty());
  CHECK(parse("{}")->as_object()->empty());
}

TEST_CASE("parse: duplicate keys are kept, find returns the first", "[json]") {
  auto doc = parse(R"({"a": 1, "b": 2, "a": 3})");
  REQUIRE(doc);
  REQUIRE(doc->as_object()->size() == 3);
  CHECK(doc->find("a")->as_int() == 1);
  CHECK((*doc->as_object())[2].second.as_int() == 3);
}

TEST_CASE("parse: invalid JSON is rejected", "[json]") {
  CHECK(error_of("") == "empty document");
  CHECK(error_of("   ") == "empty document");
  CHECK(error_of("{") == "invalid JSON");
  CHECK(error_of("[1,]") == "invalid JSON");
  CHECK(error_of("{\"a\" 1}") == "invalid JSON");
  CHECK(error_of("{a: 1}") == "invalid JSON");
  CHECK_FALSE(error_of("tru").empty());
  CHECK(error_of("\"unterminated") == "invalid string");
  CHECK(error_of("\"tab\there\"") == "invalid string");  // raw control character
  CHECK(error_of(R"("\ud800")") == "invalid string");    // lone surrogate escape
  CHECK(error_of(R"("\x")") == "invalid string");
}

TEST_CASE("parse: trailing content is rejected", "[json]") {
  CHECK(error_of("{} {}") == "invalid JSON");
  CHECK(error_of("[1] x") == "invalid JSON");
  CHECK(error_of("1 2") == "invalid JSON");
  CHECK(error_of("{}\n  \t") == "");  // trailing whitespace is fine
}

TEST_CASE("parse: invalid UTF-8 is rejected", "[json]") {
  CHECK(error_of("\"\xff\"") == "invalid UTF-8");
  CHECK(error_of("\"\xC0\xAF\"") == "invalid UTF-8");        // overlong '/'
  CHECK(error_of("\"\xED\xA0\x80\"") == "invalid UTF-8");    // encoded surrogate
  CHECK(error_of("{\"k\xE2\x82\": 1}") == "invalid UTF-8");  // truncated sequence in a key
  CHECK(error_of("\"\xE2\x82\xAC\"") == "");                 // the euro sign is fine
}

TEST_CASE("parse: nesting depth is limited", "[json]") {
  CHECK(error_of(nested_arrays(32)) == "");
  CHECK(error_of(nested_arrays(33)) == "nesting too deep");
  CHECK(error_of(R"({"a": {"b": [1]}})", 3) == "");
  CHECK(error_of(R"({"a": {"b": [1]}})", 2) == "nesting too deep");
  CHECK(error_of("1", 0) == "");
  CHECK(error_of("[]", 0) == "nesting too deep");
  // Far beyond simdjson's own limit: still a clean error, no stack exhaustion.
  CHECK(error_of(nested_arrays(100'000), 1'000'000) == "nesting too deep");
}

TEST_CASE("valid_utf8", "[json]") {
  CHECK(plumb::json::valid_utf8(""));
  CHECK(plumb::json::valid_utf8("plain ascii"));
  CHECK(plumb::json::valid_utf8("\xC3\xA9\xF0\x9F\x98\x80"));
  CHECK_FALSE(plumb::json::valid_utf8("\xff"));
  CHECK_FALSE(plumb::json::valid_utf8("\xC3"));
  CHECK_FALSE(plumb::json::valid_utf8("\xED\xA0\x80"));
}

TEST_CASE("value: constructed values", "[json]") {
  const value obj(plumb::json::object{{"n", value(std::int64_t{3})}, {"s", value("x"s)}});
  CHECK(obj.is_object());
  CHECK(obj.find("n")->as_int() == 3);
  CHECK(*obj.find("s")->as_string() == "x");

  const value huge(1e300);
  CHECK_FALSE(huge.as_int());
  const value nan(std::numeric_limits<double>::quiet_NaN());
  CHECK_FALSE(nan.as_int());
  CHECK(value(-9223372036854775808.0).as_int() == std::numeric_limits<std::int64_t>::min());
}
