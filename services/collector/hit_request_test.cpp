#include "hit_request.hpp"

#include <catch2/catch.hpp>

using namespace plumb::collector;

namespace {

// The field named by the first error, or "" when the hit is valid.
std::string rejected_field(std::string_view body) {
  const auto hit = parse_hit_json(body);
  return hit ? std::string() : hit.error().front().first;
}

std::string repeat(char c, std::size_t n) { return std::string(n, c); }

}  // namespace

TEST_CASE("every validation rule names the offending field") {
  struct row {
    std::string body;
    std::string field;  // "" = accepted
  };
  const std::string url = R"("u":"https://example.com/")";
  const std::vector<row> table{
      {R"({"n":"pageview",)" + url + "}", ""},
      {R"({"name":"pageview","url":"https://example.com/","domain":"example.com"})", ""},
      {"", "body"},
      {"[]", "body"},
      {"{\"n\":\"pageview\",", "body"},
      {"\"\xff\"", "body"},
      {"{" + url + "}", "name"},
      {R"({"n":"",)" + url + "}", "name"},
      {R"({"n":7,)" + url + "}", "name"},
      {R"({"n":")" + repeat('x', 121) + "\"," + url + "}", "name"},
      {R"({"n":")" + repeat('x', 120) + "\"," + url + "}", ""},
      {R"({"n":"a\u0000b",)" + url + "}", "name"},
      {R"({"n":"pageview"})", "url"},
      {R"({"n":"pageview","u":"ftp://example.com/"})", "url"},
      {R"({"n":"pageview","u":"https://"})", "url"},
      {R"({"n":"pageview","u":"/relative"})", "url"},
      {R"({"n":"pageview","u":"https://example.com/)" + repeat('a', 2'000) + "\"}", "url"},
      {R"({"n":"pageview",)" + url + R"(,"d":"exa mple.com"})", "domain"},
      {R"({"n":"pageview",)" + url + R"(,"d":5})", "domain"},
      {R"({"n":"pageview",)" + url + R"(,"d":"a.com,b.com,c.com,d.com,e.com,f.com,g.com,h.com,i.com,j.com,k.com"})", "domain"},
      {R"({"n":"pageview",)" + url + R"(,"r":")" + repeat('r', 2'001) + "\"}", "referrer"},
      {R"({"n":"pageview",)" + url + R"(,"r":null})", ""},
      {R"({"n":"pageview",)" + url + R"(,"w":-1})", "screen_width"},
      {R"({"n":"pageview",)" + url + R"(,"w":100001})", "screen_width"},
      {R"({"n":"pageview",)" + url + R"(,"w":"wide"})", "screen_width"},
      {R"({"n":"pageview",)" + url + R"(,"w":1440})", ""},
      {R"({"n":"pageview",)" + url + R"(,"i":"yes"})", "interactive"},
      {R"({"n":"pageview",)" + url + R"(,"p":[1]})", "props"},
      {R"({"n":"pageview",)" + url + R"(,"p":"{not json"})", "props"},
      {R"({"n":"pageview",)" + url + R"(,"p":{"a":{"b":1}}})", "props"},
      {R"({"n":"pageview",)" + url + R"(,"p":{"a":null}})", "props"},
      {R"({"n":"pageview",)" + url + R"(,"p":{"":"x"}})", "props"},
      {R"({"n":"pageview",)" + url + R"(,"p":{")" + repeat('k', 301) + R"(":"x"}})", "props"},
      {R"({"n":"pageview",)" + url + R"(,"p":{"k":")" + repeat('v', 2'001) + R"("}})", "props"},
      {R"({"n":"pageview",)" + url + R"(,"$":{"currency":"eur","amount":"1"}})", "revenue"},
      {R"({"n":"pageview",)" + url + R"(,"$":{"currency":"EUR","amount":"1e5"}})", "revenue"},
      {R"({"n":"pageview",)" + url + R"(,"$":{"currency":"EUR"}})", "revenue"},
      {R"({"n":"pageview",)" + url + R"(,"$":{"currency":"EUR","amount":12.5}})", ""},
  };
  for (const auto& r : table) {
    INFO(r.body.substr(0, 200));
    CHECK(rejected_field(r.body) == r.field);
  }
}

TEST_CASE("at most 30 props, in either object or JSON-string form") {
  std::string props = "{";
  for (int i = 0; i < 31; ++i) {
    props += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\":\"v\"";
  }
  props += "}";
  CHECK(rejected_field(R"({"n":"e","u":"https://a.com/","p":)" + props + "}") == "props");
  const auto hit = parse_hit_json(R"({"n":"e","u":"https://a.com/","p":"{\"plan\":\"pro\",\"n\":5,\"ok\":true}"})");
  REQUIRE(hit);
  CHECK(hit->props_json == R"({"plan":"pro","n":"5","ok":"true"})");
}

TEST_CASE("every problem is reported, not just the first") {
  const auto hit = parse_hit_json(R"({"w":-5,"i":"x"})");
  REQUIRE_FALSE(hit);
  std::vector<std::string> fields;
  for (const auto& [field, message] : hit.error()) {
    fields.push_back(field);
  }
  CHECK(fields == std::vector<std::string>{"name", "url", "screen_width", "interactive"});
}

TEST_CASE("domains: several, normalised, deduplicated, or taken from the URL") {
  auto hit = parse_hit_json(R"({"n":"pageview","u":"https://shop.example/","d":"www.Example.com, shop.example ,example.com"})");
  REQUIRE(hit);
  CHECK(hit->domains == std::vector<std::string>{"example.com", "shop.example"});
  hit = parse_hit_json(R"({"n":"pageview","u":"https://user@WWW.Blog.Example:8443/p"})");
  REQUIRE(hit);
  CHECK(hit->domains == std::vector<std::string>{"blog.example"});
  CHECK(hit->hostname == "www.blog.example");
  CHECK(parse_hit_json(R"({"n":"pageview","u":"http://[2001:db8::1]:80/","d":"x.example"})")->hostname == "[2001:db8::1]");
  CHECK(parse_hit_json(R"({"n":"pageview","u":"http://[2001:db8::1]/","d":"x.example"})")->hostname == "[2001:db8::1]");
}

TEST_CASE("fields are carried through with their types") {
  const auto hit = parse_hit_json(
      R"({"n":"Purchase","u":"https://a.com/#/cart","r":"https://ref.example/","w":390,"h":1,"i":false,)"
      R"("$":{"currency":"EUR","amount":"12.50"}})");
  REQUIRE(hit);
  CHECK(hit->name == "Purchase");
  CHECK(hit->referrer == "https://ref.example/");
  CHECK(hit->screen_width == 390);
  CHECK(hit->hash_mode);
  CHECK_FALSE(hit->interactive);
  REQUIRE(hit->revenue);
  CHECK(hit->revenue->currency == "EUR");
  CHECK(hit->revenue->amount == "12.50");
}

TEST_CASE("the pixel's query parameters go through the same validation") {
  using q = std::vector<std::pair<std::string, std::string>>;
  auto hit = parse_hit_query(q{{"n", "pageview"}, {"u", "https://a.com/x"}, {"w", "800"}, {"h", "1"},
                              {"p", R"({"k":"v"})"}, {"$", R"({"currency":"USD","amount":"3"})"}});
  REQUIRE(hit);
  CHECK(hit->screen_width == 800);
  CHECK(hit->hash_mode);
  CHECK(hit->props_json == R"({"k":"v"})");
  CHECK(hit->revenue->currency == "USD");
  CHECK(parse_hit_query(q{{"n", "pageview"}, {"u", "https://a.com/"}, {"w", "wide"}}).error().front().first ==
        "screen_width");
  CHECK(parse_hit_query(q{{"u", "https://a.com/"}}).error().front().first == "name");
  CHECK(parse_hit_query(q{{"n", "pageview\xff"}, {"u", "https://a.com/"}}).error().front().first == "query");
  CHECK(parse_hit_query(q{{"n", "pageview"}, {"u", "https://a.com/"}, {"$", "{broken"}}).error().front().first ==
        "revenue");
}
