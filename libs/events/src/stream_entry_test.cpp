#include "plumb/events/stream_entry.hpp"

#include <catch2/catch.hpp>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "plumb/json/value.hpp"

namespace fs = std::filesystem;
using namespace plumb;

namespace {

json::value load(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  auto doc = json::parse(text.str());
  REQUIRE(doc);
  return *doc;
}

events::fields fields_of(const json::value& doc) {
  events::fields out;
  for (const auto& pair : *doc.find("fields")->as_array()) {
    const auto& kv = *pair.as_array();
    out.emplace_back(*kv.at(0).as_string(), *kv.at(1).as_string());
  }
  return out;
}

std::uint64_t hex(const json::value* v) {
  std::uint64_t out = 0;
  const std::string& s = *v->as_string();
  std::from_chars(s.data(), s.data() + s.size(), out, 16);
  return out;
}

events::event event_of(const json::value& e) {
  auto text = [&e](const char* key) {
    const auto* v = e.find(key);
    return v != nullptr ? *v->as_string() : std::string();
  };
  events::event out;
  out.id = *core::event_id::parse(text("id"));
  out.received_ms = *e.find("received_ms")->as_int();
  out.site_id = *e.find("site_id")->as_int();
  out.name = text("name");
  out.url = text("url");
  out.referrer = text("referrer");
  if (const auto* w = e.find("screen_width")) {
    out.screen_width = static_cast<std::int32_t>(*w->as_int());
  }
  if (const auto* h = e.find("hash_mode")) {
    out.hash_mode = *h->as_bool();
  }
  if (const auto* i = e.find("interactive")) {
    out.interactive = *i->as_bool();
  }
  out.props_json = text("props_json");
  if (const auto* r = e.find("revenue")) {
    out.revenue = events::revenue{*r->find("currency")->as_string(), *r->find("amount")->as_string()};
  }
  out.visitor_hash = hex(e.find("visitor_hash"));
  out.previous_visitor_hash = hex(e.find("previous_visitor_hash"));
  out.country = text("country");
  out.region = text("region");
  out.city = text("city");
  out.user_agent = text("user_agent");
  return out;
}

std::vector<fs::path> golden(const char* folder) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(fs::path(PLUMB_PROTO_DIR) / "stream/v1" / folder)) {
    out.push_back(entry.path());
  }
  REQUIRE_FALSE(out.empty());
  return out;
}

}  // namespace

TEST_CASE("valid golden stream entries encode and decode exactly") {
  for (const auto& path : golden("valid")) {
    INFO(path.string());
    const auto doc = load(path);
    const auto expected_event = event_of(*doc.find("event"));
    const auto expected_fields = fields_of(doc);
    CHECK(events::encode(expected_event) == expected_fields);
    const auto decoded = events::decode(expected_fields);
    REQUIRE(decoded);
    CHECK(*decoded == expected_event);
  }
}

TEST_CASE("invalid golden stream entries are rejected naming the field") {
  for (const auto& path : golden("invalid")) {
    INFO(path.string());
    const auto doc = load(path);
    const auto decoded = events::decode(fields_of(doc));
    REQUIRE_FALSE(decoded);
    CHECK(decoded.error().field == *doc.find("error_field")->as_string());
  }
}

TEST_CASE("a freshly minted event round-trips through the stream encoding") {
  events::event e;
  e.received_ms = 1'763'700'000'000;
  e.id = core::event_id::generate(core::from_unix_ms(e.received_ms));
  e.site_id = 1;
  e.name = "pageview";
  e.url = "https://example.com/a\xC3\xA9";
  e.visitor_hash = ~0ULL;
  e.previous_visitor_hash = 1;
  const auto decoded = events::decode(events::encode(e));
  REQUIRE(decoded);
  CHECK(*decoded == e);
}
