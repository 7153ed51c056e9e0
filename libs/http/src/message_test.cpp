#include "plumb/http/message.hpp"

#include <catch2/catch.hpp>

using plumb::http::parse_query;
using plumb::http::request;
using plumb::http::response;
using pairs = std::vector<std::pair<std::string, std::string>>;

TEST_CASE("parse_query splits pairs and decodes keys and values", "[message]") {
  CHECK(parse_query("") == pairs{});
  CHECK(parse_query("a=1&b=two+words") == pairs{{"a", "1"}, {"b", "two words"}});
  CHECK(parse_query("flag&x=") == pairs{{"flag", ""}, {"x", ""}});
  CHECK(parse_query("a=1&&b=2&") == pairs{{"a", "1"}, {"b", "2"}});
  CHECK(parse_query("k%3D=v%3D1=2") == pairs{{"k=", "v=1=2"}});
  CHECK(parse_query("u=%E2%82%AC&bad=%G1") == pairs{{"u", "\xe2\x82\xac"}, {"bad", "%G1"}});
  CHECK(parse_query("a=1&a=2") == pairs{{"a", "1"}, {"a", "2"}});
  CHECK(parse_query("=v") == pairs{{"", "v"}});
}

TEST_CASE("errors builds the one error shape with JSON escaping", "[message]") {
  const response empty = response::errors(400, {});
  CHECK(empty.status == 400);
  CHECK(empty.content_type == "application/json");
  CHECK(empty.body == R"({"errors":{}})");

  const response two = response::errors(422, {{"site_id", "required"}, {"url", "too long"}});
  CHECK(two.body == R"({"errors":{"site_id":"required","url":"too long"}})");

  const response escaped = response::errors(400, {{"q\"x", "a\\b\n\t\r\b\f\x01\x1f end"}});
  CHECK(escaped.body == R"({"errors":{"q\"x":"a\\b\n\t\r\b\f\u0001\u001f end"}})");

  // UTF-8 passes through unchanged.
  CHECK(response::errors(400, {{"n", "caf\xc3\xa9"}}).body ==
        "{\"errors\":{\"n\":\"caf\xc3\xa9\"}}");
}

TEST_CASE("response builders set status, type and headers", "[message]") {
  const response j = response::json(201, R"({"ok":true})");
  CHECK(j.status == 201);
  CHECK(j.content_type == "application/json");
  CHECK(j.body == R"({"ok":true})");

  const response t = response::text(200, "hi");
  CHECK(t.content_type == "text/plain; charset=utf-8");
  const response css = response::text(200, "a{}", "text/css");
  CHECK(css.content_type == "text/css");

  response h = response::text(204, "");
  h.with_header("X-A", "1").with_header("X-B", "2");
  REQUIRE(h.headers.size() == 2);
  CHECK(h.headers[0].name == "X-A");
  CHECK(h.headers[1].value == "2");
}

TEST_CASE("header_value is case-insensitive and returns the first match", "[message]") {
  request req;
  req.headers = {{"Content-Type", "text/plain"},
                 {"X-Forwarded-For", "1.2.3.4"},
                 {"x-forwarded-for", "5.6.7.8"}};
  CHECK(req.header_value("content-type") == "text/plain");
  CHECK(req.header_value("X-FORWARDED-FOR") == "1.2.3.4");
  CHECK_FALSE(req.header_value("Content-Typ").has_value());
  CHECK_FALSE(req.header_value("Missing").has_value());
}

TEST_CASE("responder completes exactly once, dropped it answers 503", "[message]") {
  using plumb::http::responder;
  std::vector<response> got;
  const auto collect = [&](response res) { got.push_back(std::move(res)); };

  SECTION("called") {
    {
      responder done(collect);
      std::move(done)(response::text(202, "ok"));
      std::move(done)(response::text(200, "again"));  // NOLINT(bugprone-use-after-move): ignored
    }
    REQUIRE(got.size() == 1);
    CHECK(got[0].status == 202);
  }
  SECTION("dropped") {
    { responder done(collect); }
    REQUIRE(got.size() == 1);
    CHECK(got[0].status == 503);
    CHECK(got[0].body == R"({"errors":{"server":"request was not completed"}})");
  }
  SECTION("moved: only the new owner answers") {
    {
      responder first(collect);
      responder second(std::move(first));
      std::move(second)(response::text(200, "moved"));
    }
    REQUIRE(got.size() == 1);
    CHECK(got[0].body == "moved");
  }
  SECTION("assigned over: the abandoned request gets 503") {
    std::vector<response> other;
    {
      responder target(collect);
      target = responder([&](response res) { other.push_back(std::move(res)); });
      REQUIRE(got.size() == 1);
      CHECK(got[0].status == 503);
      std::move(target)(response::text(200, "second"));
    }
    CHECK(got.size() == 1);
    REQUIRE(other.size() == 1);
    CHECK(other[0].body == "second");
  }
}
