#include "plumb/http/router.hpp"

#include <catch2/catch.hpp>

using plumb::http::dispatch;
using plumb::http::request;
using plumb::http::response;
using plumb::http::router;
using plumb::http::verb;

namespace {

// A handler that answers with `name`, so tests can see which route matched.
plumb::http::handler named(std::string name) {
  return [name = std::move(name)](const request&) { return response::text(200, name); };
}

request make_request(verb method, std::string path) {
  request req;
  req.method = method;
  req.path = std::move(path);
  req.target = req.path;
  return req;
}

std::string matched(const router& r, verb method, std::string path) {
  const request req = make_request(method, std::move(path));
  const plumb::http::route* found = r.match(req);
  return found == nullptr ? "<none>" : found->fn(req).body;
}

std::string allow_header(const response& res) {
  return std::string(res.header_value("Allow").value_or("<none>"));
}

}  // namespace

TEST_CASE("router matches exact paths and method", "[router]") {
  router r;
  r.add(verb::get, "/api/stats", named("stats"))
      .add(verb::post, "/api/event", named("event"), dispatch::blocking)
      .add(verb::get, "/api/event", named("event-get"));
  CHECK(matched(r, verb::get, "/api/stats") == "stats");
  CHECK(matched(r, verb::post, "/api/event") == "event");
  CHECK(matched(r, verb::get, "/api/event") == "event-get");
  CHECK(matched(r, verb::get, "/api/stats/") == "<none>");
  CHECK(matched(r, verb::get, "/api/stat") == "<none>");
  CHECK(matched(r, verb::put, "/api/stats") == "<none>");

  const request req = make_request(verb::post, "/api/event");
  REQUIRE(r.match(req) != nullptr);
  CHECK(r.match(req)->where == dispatch::blocking);
}

TEST_CASE("router prefix routes end in '*', exact and longer prefixes win", "[router]") {
  router r;
  r.add(verb::get, "/static/*", named("static"))
      .add(verb::get, "/static/js/*", named("js"))
      .add(verb::get, "/static/special", named("special"))
      .add(verb::get, "*", named("anything"));
  CHECK(matched(r, verb::get, "/static/") == "static");
  CHECK(matched(r, verb::get, "/static/a/b.css") == "static");
  CHECK(matched(r, verb::get, "/static/js/app.js") == "js");
  CHECK(matched(r, verb::get, "/static/special") == "special");
  CHECK(matched(r, verb::get, "/static") == "anything");
  CHECK(matched(r, verb::get, "/") == "anything");
}

TEST_CASE("router answers HEAD with the GET handler unless HEAD is registered", "[router]") {
  router r;
  r.add(verb::get, "/page", named("get-page")).add(verb::get, "/other", named("get-other"));
  r.add(verb::head, "/other", named("head-other"));
  CHECK(matched(r, verb::head, "/page") == "get-page");
  CHECK(matched(r, verb::head, "/other") == "head-other");
}

TEST_CASE("router fallback gives 404 for unknown paths", "[router]") {
  router r;
  r.add(verb::get, "/known", named("k"));
  const response res = r.fallback_response(make_request(verb::get, "/unknown"));
  CHECK(res.status == 404);
  CHECK(res.content_type == "application/json");
  CHECK(res.body == R"({"errors":{"path":"no such endpoint"}})");
  CHECK(router{}.fallback_response(make_request(verb::get, "/")).status == 404);
}

TEST_CASE("router fallback gives 405 with Allow for known paths", "[router]") {
  router r;
  r.add(verb::post, "/api/event", named("e"))
      .add(verb::get, "/api/event", named("g"))
      .add(verb::options, "/api/event", named("o"))
      .add(verb::delete_, "/files/*", named("d"))
      .add(verb::post, "/form", named("f"));

  const response res = r.fallback_response(make_request(verb::put, "/api/event"));
  CHECK(res.status == 405);
  CHECK(res.body == R"({"errors":{"method":"method not allowed"}})");
  CHECK(allow_header(res) == "GET, HEAD, POST, OPTIONS");

  CHECK(allow_header(r.fallback_response(make_request(verb::get, "/files/x"))) == "DELETE");
  const response form = r.fallback_response(make_request(verb::head, "/form"));
  CHECK(form.status == 405);
  CHECK(allow_header(form) == "POST");
}

TEST_CASE("router registers async routes beside sync ones", "[router]") {
  router r;
  r.add_async(verb::post, "/api/event",
              [](const request&, plumb::http::responder done) {
                std::move(done)(response::text(202, "queued"));
              })
      .add_async(verb::get, "/api/slow", [](const request&, plumb::http::responder) {})
      .add(verb::get, "/api/event", named("event-get"));

  const request post = make_request(verb::post, "/api/event");
  const plumb::http::route* found = r.match(post);
  REQUIRE(found != nullptr);
  CHECK_FALSE(found->fn);
  REQUIRE(found->async_fn);
  CHECK(found->where == dispatch::io);
  std::optional<response> answered;
  found->async_fn(post, plumb::http::responder([&](response res) { answered = std::move(res); }));
  REQUIRE(answered.has_value());
  CHECK(answered->status == 202);
  CHECK(answered->body == "queued");

  CHECK(matched(r, verb::get, "/api/event") == "event-get");
  CHECK(r.match(make_request(verb::get, "/api/event"))->async_fn == nullptr);
  // HEAD falls back to the async GET route; 405 lists async methods too.
  const plumb::http::route* head = r.match(make_request(verb::head, "/api/slow"));
  REQUIRE(head != nullptr);
  CHECK(head->async_fn);
  CHECK(allow_header(r.fallback_response(make_request(verb::put, "/api/event"))) ==
        "GET, HEAD, POST");
}

TEST_CASE("router {name} segments match one segment, exact beats parameters beats prefixes", "[router]") {
  router r;
  r.add(verb::get, "/api/sites/{site}/goals/{goal}", named("goal"))
      .add(verb::get, "/api/sites/{site}", named("site"))
      .add(verb::get, "/api/sites/mine", named("mine"))
      .add(verb::get, "/api/*", named("prefix"));
  CHECK(matched(r, verb::get, "/api/sites/example.com") == "site");
  CHECK(matched(r, verb::get, "/api/sites/mine") == "mine");
  CHECK(matched(r, verb::get, "/api/sites/example.com/goals/7") == "goal");
  CHECK(matched(r, verb::get, "/api/sites/") == "prefix");
  CHECK(matched(r, verb::get, "/api/sites/a/b") == "prefix");
  CHECK(matched(r, verb::get, "/api/sites/a/goals/") == "prefix");

  const auto params = plumb::http::path_parameters("/api/sites/{site}/goals/{goal}", "/api/sites/a%2Eb/goals/7");
  REQUIRE(params);
  CHECK(*params == std::vector<std::pair<std::string, std::string>>{{"site", "a.b"}, {"goal", "7"}});
  CHECK_FALSE(plumb::http::path_parameters("/api/sites/{site}", "/api/sites/a/b"));
  CHECK(r.routes().size() == 4);
}
