#include "plumb/json/writer.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include "plumb/json/value.hpp"

using plumb::json::quote;
using plumb::json::writer;
using namespace std::string_literals;

TEST_CASE("writer: objects, arrays and commas", "[json]") {
  writer w;
  w.begin_object()
      .key("results")
      .begin_object()
      .key("n")
      .value(3)
      .end_object()
      .key("list")
      .begin_array()
      .value(1)
      .value("two")
      .null()
      .value(true)
      .begin_array()
      .end_array()
      .begin_object()
      .end_object()
      .end_array()
      .key("raw")
      .raw(R"({"x":[1,2]})")
      .end_object();
  CHECK(w.str() == R"({"results":{"n":3},"list":[1,"two",null,true,[],{}],"raw":{"x":[1,2]}})");
  const std::string moved = std::move(w).str();
  CHECK(moved.front() == '{');
}

TEST_CASE("writer: top-level scalars", "[json]") {
  CHECK(writer().value("s").str() == R"("s")");
  CHECK(writer().value(false).str() == "false");
  CHECK(writer().null().str() == "null");
}

TEST_CASE("writer: numbers", "[json]") {
  CHECK(writer().value(std::numeric_limits<std::int64_t>::min()).str() == "-9223372036854775808");
  CHECK(writer().value(std::numeric_limits<std::uint64_t>::max()).str() == "18446744073709551615");
  CHECK(writer().value(0.1).str() == "0.1");
  CHECK(writer().value(3.0).str() == "3.0");
  CHECK(writer().value(-0.0).str() == "-0.0");
  CHECK(writer().value(1e300).str() == "1e+300");
  CHECK(writer().value(std::numeric_limits<double>::infinity()).str() == "null");
  CHECK(writer().value(std::numeric_limits<double>::quiet_NaN()).str() == "null");
  writer w;
  w.begin_array().value(std::numeric_limits<double>::infinity()).value(1.5).end_array();
  CHECK(w.str() == "[null,1.5]");
}

TEST_CASE("quote: escaping per RFC 8259", "[json]") {
  CHECK(quote("") == R"("")");
  CHECK(quote("plain") == R"("plain")");
  CHECK(quote("a\"b\\c/d") == R"("a\"b\\c/d")");
  CHECK(quote("\b\f\n\r\t") == R"("\b\f\n\r\t")");
  CHECK(quote("\x01\x1f"s) == R"("\u0001\u001f")");
  CHECK(quote("a\0b"s) == R"("a\u0000b")");
  CHECK(quote("\x7f") == "\"\x7f\"");  // DEL needs no escape
  CHECK(quote("caf\xC3\xA9 \xF0\x9F\x98\x80") == "\"caf\xC3\xA9 \xF0\x9F\x98\x80\"");
}

TEST_CASE("quote: invalid UTF-8 becomes U+FFFD", "[json]") {
  const std::string fffd = "\xEF\xBF\xBD";
  CHECK(quote("\xff") == "\"" + fffd + "\"");
  CHECK(quote("a\x80"
              "b") == "\"a" + fffd + "b\"");                         // stray continuation
  CHECK(quote("\xC0\xAF") == "\"" + fffd + fffd + "\"");             // overlong '/'
  CHECK(quote("\xE0\x80\xAF") == "\"" + fffd + fffd + fffd + "\"");  // overlong, 3 bytes
  CHECK(quote("\xED\xA0\x80") == "\"" + fffd + fffd + fffd + "\"");  // surrogate U+D800
  CHECK(quote("\xF4\x90\x80\x80") == "\"" + fffd + fffd + fffd + fffd + "\"");  // > U+10FFFF
  CHECK(quote("\xE2\x82") == "\"" + fffd + fffd + "\"");       // truncated at the end
  CHECK(quote("\xE2\x82x") == "\"" + fffd + fffd + "x\"");     // truncated mid-string
  CHECK(quote("\xF4\x8F\xBF\xBF") == "\"\xF4\x8F\xBF\xBF\"");  // U+10FFFF is fine
  CHECK(plumb::json::valid_utf8(quote("\xff\xfe\xC3\x28\xE2\x28\xA1")));
}

TEST_CASE("writer: keys are escaped too", "[json]") {
  writer w;
  w.begin_object().key("a\"\n\xff").value(1).end_object();
  CHECK(w.str() == "{\"a\\\"\\n\xEF\xBF\xBD\":1}");
}

TEST_CASE("writer: misuse throws instead of writing broken JSON", "[json]") {
  CHECK_THROWS_AS(writer().end_object(), std::logic_error);
  CHECK_THROWS_AS(writer().end_array(), std::logic_error);
  CHECK_THROWS_AS(writer().key("k"), std::logic_error);
  writer w;
  w.begin_object().key("k");
  CHECK_THROWS_AS(w.key("again"), std::logic_error);
  CHECK_THROWS_AS(w.end_object(), std::logic_error);
}

TEST_CASE("writer output parses back to the same values", "[json]") {
  std::string all_bytes;
  for (int c = 0; c < 256; ++c) {
    all_bytes.push_back(static_cast<char>(c));
  }
  writer w;
  w.begin_object()
      .key("bytes")
      .value(all_bytes)
      .key("text")
      .value("line\nbreak \"quoted\" caf\xC3\xA9")
      .key("int")
      .value(std::numeric_limits<std::int64_t>::min())
      .key("third")
      .value(1.0 / 3.0)
      .key("whole")
      .value(2.0)
      .key("list")
      .begin_array()
      .value(true)
      .null()
      .end_array()
      .end_object();

  auto doc = plumb::json::parse(w.str());
  REQUIRE(doc);
  const std::string* bytes = doc->find("bytes")->as_string();
  REQUIRE(bytes != nullptr);
  // ASCII survives exactly; each of the 128 high bytes (invalid alone) became one U+FFFD.
  CHECK(bytes->substr(0, 128) == all_bytes.substr(0, 128));
  CHECK(bytes->size() == 128 + 128 * 3);
  CHECK(*doc->find("text")->as_string() == "line\nbreak \"quoted\" caf\xC3\xA9");
  CHECK(doc->find("int")->as_int() == std::numeric_limits<std::int64_t>::min());
  CHECK(doc->find("third")->as_double() == 1.0 / 3.0);  // exact: shortest round-trip form
  CHECK(doc->find("whole")->type() == plumb::json::value::kind::number);
  CHECK(doc->find("list")->as_array()->size() == 2);
}
