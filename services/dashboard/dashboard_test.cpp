#include "dashboard.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <regex>
#include <string>

namespace {

using namespace plumb;

std::optional<http::response> get(const http::router& routes, const std::string& path,
                                  std::vector<http::header> headers = {}) {
  http::request req;
  req.method = http::verb::get;
  req.target = req.path = path;
  req.headers = std::move(headers);
  const auto* route = routes.match(req);
  if (route == nullptr) {
    return std::nullopt;
  }
  return route->fn(req);
}

http::router web_router() {
  http::router routes;
  dashboard::add_web_routes(routes);
  return routes;
}

}  // namespace

TEST_CASE("the page names the bundles by content hash, they are cached for a year") {
  const auto routes = web_router();
  const auto page = get(routes, "/");
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->content_type == "text/html; charset=utf-8");
  CHECK(page->header_value("Cache-Control") == "no-cache");

  std::smatch js, css;
  REQUIRE(std::regex_search(page->body, js, std::regex(R"re(src="(/assets/app\.[0-9a-f]{16}\.js)")re")));
  REQUIRE(std::regex_search(page->body, css, std::regex(R"re(href="(/assets/app\.[0-9a-f]{16}\.css)")re")));
  CHECK(page->body.find("/assets/app.js") == std::string::npos);

  for (const auto& [url, type] : {std::pair{js[1].str(), "text/javascript; charset=utf-8"},
                                  std::pair{css[1].str(), "text/css; charset=utf-8"}}) {
    INFO(url);
    const auto plain = get(routes, url);
    REQUIRE(plain);
    CHECK(plain->status == 200);
    CHECK(plain->content_type == type);
    CHECK_FALSE(plain->body.empty());
    CHECK(plain->header_value("Cache-Control") == "public, max-age=31536000, immutable");
    // The URL carries the first 16 hex digits of the plain bundle's SHA-256, its ETag.
    CHECK(plain->header_value("ETag")->substr(1, 16) == url.substr(url.find('.') + 1, 16));

    const auto zipped = get(routes, url, {{"Accept-Encoding", "gzip, br"}});
    REQUIRE(zipped);
    CHECK(zipped->header_value("Content-Encoding") == "gzip");
    CHECK(zipped->body.size() < plain->body.size());
    CHECK(zipped->body.substr(0, 2) == "\x1f\x8b");  // gzip magic
  }
  // Unhashed names and other builds' names are not served.
  CHECK_FALSE(get(routes, "/assets/app.js"));
  CHECK_FALSE(get(routes, "/assets/app.0000000000000000.js"));
}

TEST_CASE("the page is revalidated with its ETag") {
  const auto routes = web_router();
  const auto page = get(routes, "/");
  REQUIRE(page);
  const auto again = get(routes, "/", {{"If-None-Match", std::string(*page->header_value("ETag"))}});
  REQUIRE(again);
  CHECK(again->status == 304);
  CHECK(again->body.empty());
}

TEST_CASE("the content security policy allows no inline script or style") {
  for (const auto& h : dashboard::security_headers()) {
    if (h.name == "Content-Security-Policy") {
      CHECK(h.value.find("unsafe-inline") == std::string::npos);
      CHECK(h.value.find("default-src 'self'") != std::string::npos);
      CHECK(h.value.find("frame-ancestors 'none'") != std::string::npos);
      return;
    }
  }
  FAIL("no Content-Security-Policy header");
}

TEST_CASE("every response also carries HSTS, nosniff and no framing, and never CORS headers") {
  std::map<std::string, std::string> headers;
  for (const auto& h : dashboard::security_headers()) {
    headers[h.name] = h.value;
  }
  CHECK(headers["Strict-Transport-Security"].rfind("max-age=", 0) == 0);
  CHECK(headers["X-Content-Type-Options"] == "nosniff");
  CHECK(headers["Referrer-Policy"] == "strict-origin-when-cross-origin");
  CHECK(headers["X-Frame-Options"] == "DENY");
  for (const auto& [name, value] : headers) {
    CHECK(name.rfind("Access-Control-", 0) != 0);
  }
}

TEST_CASE("only the shared-link page may be framed, by any site, and with the same policy otherwise") {
  const auto routes = web_router();
  std::string default_policy;
  for (const auto& h : dashboard::security_headers()) {
    if (h.name == "Content-Security-Policy") {
      default_policy = h.value;
    }
  }
  const auto shared = get(routes, "/share/abc123");
  REQUIRE(shared);
  CHECK(shared->status == 200);
  const auto policy = shared->header_value("Content-Security-Policy");
  REQUIRE(policy);
  CHECK(policy->find("frame-ancestors *;") != std::string_view::npos);
  // Apart from who may frame it, the page gets the policy every other page has.
  std::string expected = default_policy;
  expected.replace(expected.find("'none'"), 6, "*");
  CHECK(*policy == expected);
  // Every other page keeps the default (no header of its own; the server adds the default).
  const auto login = get(routes, "/login");
  REQUIRE(login);
  CHECK_FALSE(login->header_value("Content-Security-Policy"));
}
