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

namespace {

redis::reply strings_reply(const std::vector<std::string>& strings) {
  redis::reply r;
  r.type = redis::reply::kind::array;
  for (const auto& s : strings) {
    redis::reply element;
    element.type = redis::reply::kind::string;
    element.str = s;
    r.elements.push_back(element);
  }
  return r;
}

}  // namespace

TEST_CASE("stream entries read back as their events, packed in one field or written as pairs") {
  using events_list = std::vector<events::fields>;
  const events::fields first{{"v", "1"}, {"id", "abc"}, {"u", "https://a.example/\r\n$3"}};
  const events::fields second{{"v", "1"}, {"id", "def"}, {"p", ""}};
  CHECK(queue::entry_events(strings_reply({"e", queue::serialize(first)})) == events_list{first});
  CHECK(queue::entry_events(strings_reply(
            {"e", queue::serialize(first) + queue::serialize(second) + queue::serialize(first)})) ==
        events_list{first, second, first});
  CHECK(queue::entry_events(strings_reply(
            {"v", "1", "id", "abc", "u", "https://a.example/\r\n$3"})) == events_list{first});
  // A field "e" that is not a sequence of serialised events is a field like any other (the
  // worker rejects it), even when it starts with one.
  CHECK(queue::entry_events(strings_reply({"e", "x"})) == events_list{{{"e", "x"}}});
  const std::string torn = queue::serialize(first) + queue::serialize(second).substr(0, 9);
  CHECK(queue::entry_events(strings_reply({"e", torn})) == events_list{{{"e", torn}}});
}

TEST_CASE("serialised events encode as one XADD per event, or one packed entry") {
  const queue::xadd_encoder xadd("p:{events}");
  const std::vector<std::string> serialized{queue::serialize({{"v", "1"}, {"id", "a"}}),
                                            queue::serialize({{"v", "1"}, {"id", "b"}})};
  std::string out;
  REQUIRE(xadd.encode_entry(out, serialized));
  std::string expected;
  const std::string packed = serialized[0] + serialized[1];
  const std::string_view args[] = {"XADD", "p:{events}", "*", "e", packed};
  redis::append_command(expected, args);
  CHECK(out == expected);

  std::string kept = "kept";
  CHECK_FALSE(xadd.encode_entry(kept, {}));
  const std::vector<std::string> too_many(queue::max_events_per_entry + 1, serialized[0]);
  CHECK_FALSE(xadd.encode_entry(kept, too_many));
  CHECK(kept == "kept");
}

TEST_CASE("a malformed serialised event encodes nothing") {
  const queue::xadd_encoder xadd("s");
  for (const std::string bad : {"", "$1\r\nv\r\n", "*\r\n", "*2x\r\n", "*2"}) {
    std::string out = "kept";
    const std::vector<std::string> entries{queue::serialize({{"v", "1"}}), bad};
    CHECK_FALSE(xadd.encode(out, entries));
    CHECK_FALSE(xadd.encode_entry(out, entries));
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
