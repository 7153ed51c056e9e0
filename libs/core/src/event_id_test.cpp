#include "plumb/core/event_id.hpp"

#include <catch2/catch.hpp>
#include <set>

using plumb::core::event_id;

TEST_CASE("event ids embed their receive time and are version 7") {
  const auto t = plumb::core::from_unix_ms(1'700'000'000'123);
  const auto id = event_id::generate(t);
  CHECK(id.unix_ms() == 1'700'000'000'123);
  const std::string text = id.to_string();
  REQUIRE(text.size() == 36);
  CHECK(text[14] == '7');
  CHECK((text[19] == '8' || text[19] == '9' || text[19] == 'a' || text[19] == 'b'));
}

TEST_CASE("event ids round-trip through their text form and are unique") {
  const auto t = plumb::core::from_unix_ms(1'700'000'000'000);
  std::set<std::string> seen;
  for (int i = 0; i < 10'000; ++i) {
    const auto id = event_id::generate(t);
    const auto parsed = event_id::parse(id.to_string());
    REQUIRE(parsed);
    CHECK(*parsed == id);
    seen.insert(id.to_string());
  }
  CHECK(seen.size() == 10'000);
}

TEST_CASE("event id parsing rejects malformed text") {
  CHECK_FALSE(event_id::parse(""));
  CHECK_FALSE(event_id::parse("01890a5d-ac96-774b-bcce-b302099a805"));     // short
  CHECK_FALSE(event_id::parse("01890a5d-ac96-774b-bcce-b302099a805g"));    // bad hex
  CHECK_FALSE(event_id::parse("01890a5dxac96-774b-bcce-b302099a8057"));    // bad dash
  CHECK_FALSE(event_id::parse("01890a5d-ac96-774b-bcce-b302099a8057 "));   // long
  CHECK(event_id::parse("01890A5D-AC96-774B-BCCE-B302099A8057"));
}
