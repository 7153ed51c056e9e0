#include <catch2/catch.hpp>

#include "plumb/queue/stream.hpp"

using namespace plumb;

TEST_CASE("serialised entries round-trip, binary-safe") {
  const events::fields entry{
      {"v", "1"}, {"u", "https://a.example/\r\n$3\r\n"}, {"ua", std::string("a\0b", 3)}};
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
  CHECK_FALSE(queue::deserialize("*1\r\n$1\r\nv\r\n"));             // odd number of arguments
  CHECK_FALSE(queue::deserialize("*2\r\n$9\r\nv\r\n$1\r\n1\r\n"));  // length past the end
  CHECK_FALSE(queue::deserialize("*x\r\n"));
}

TEST_CASE("an event serialises to the same bytes as its field pairs") {
  events::event e;
  e.received_ms = 1'763'700'000'123;
  e.id = core::event_id::generate(core::from_unix_ms(e.received_ms));
  e.site_id = 42;
  e.name = "Purchase";
  e.url = "https://shop.example/#/cart";
  e.referrer = "https://ref.example/";
  e.screen_width = 390;
  e.hash_mode = true;
  e.interactive = false;
  e.props_json = R"({"plan":"pro"})";
  e.revenue = events::revenue{"EUR", "12.50"};
  e.visitor_hash = 0xfedcba9876543210ULL;
  e.previous_visitor_hash = 7;
  e.country = "DE";
  e.region = "DE-BY";
  e.city = "München";
  e.user_agent = "Mozilla/5.0";
  const auto direct = queue::serialize(e);
  CHECK(direct == queue::serialize(events::encode(e)));
  const auto back = queue::deserialize(direct);
  REQUIRE(back);
  CHECK(*events::decode(*back) == e);
}

TEST_CASE("serialised entries encode as XADD commands to the stream, one field per entry") {
  const std::vector<std::string> entries{
      queue::serialize({{"v", "1"}, {"u", "https://a.example/"}}), queue::serialize({{"v", "1"}})};
  const queue::xadd_encoder xadd("p:{events}");
  std::string out = "PING";
  REQUIRE(xadd.encode(out, entries));
  std::string expected = "PING";
  const std::string_view first[] = {"XADD", "p:{events}", "*", "e", entries[0]};
  const std::string_view second[] = {"XADD", "p:{events}", "*", "e", entries[1]};
  redis::append_command(expected, first);
  redis::append_command(expected, second);
  CHECK(out == expected);
}

TEST_CASE("stream entries read back as their fields, packed in one field or written as pairs") {
  const events::fields fields{{"v", "1"}, {"id", "abc"}, {"u", "https://a.example/\r\n$3"}};
  const auto reply_of = [](const std::vector<std::string>& strings) {
    redis::reply r;
    r.type = redis::reply::kind::array;
    for (const auto& s : strings) {
      redis::reply element;
      element.type = redis::reply::kind::string;
      element.str = s;
      r.elements.push_back(element);
    }
    return r;
  };
  CHECK(queue::entry_fields(reply_of({"e", queue::serialize(fields)})) == fields);
  CHECK(queue::entry_fields(reply_of({"v", "1", "id", "abc", "u", "https://a.example/\r\n$3"})) ==
        fields);
  // A field "e" that is not a serialised entry is a field like any other (the worker rejects it).
  CHECK(queue::entry_fields(reply_of({"e", "x"})) == events::fields{{"e", "x"}});
}

TEST_CASE("a malformed serialised entry encodes nothing") {
  const queue::xadd_encoder xadd("s");
  for (const std::string bad : {"", "$1\r\nv\r\n", "*\r\n", "*2x\r\n", "*2"}) {
    std::string out = "kept";
    const std::vector<std::string> entries{queue::serialize({{"v", "1"}}), bad};
    CHECK_FALSE(xadd.encode(out, entries));
    CHECK(out == "kept");
  }
}

TEST_CASE("an entry's event id and receive time are read back from its serialised bytes") {
  const auto identity = queue::identify(
      queue::serialize(events::fields{{"v", "1"}, {"id", "abc"}, {"ts", "1700000000123"}}));
  REQUIRE(identity);
  CHECK(identity->event_id == "abc");
  CHECK(identity->received_ms == 1'700'000'000'123);
  CHECK_FALSE(queue::identify(queue::serialize(events::fields{{"id", "abc"}, {"ts", "x"}})));
  CHECK_FALSE(queue::identify(queue::serialize(events::fields{{"ts", "1"}})));
  CHECK_FALSE(queue::identify("not an entry"));
}
