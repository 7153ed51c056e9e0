#include "plumb/http/static_asset.hpp"

#include <catch2/catch.hpp>
#include <optional>
#include <string>

namespace {

using namespace plumb;

http::request get(std::vector<http::header> headers) {
  http::request req;
  req.method = http::verb::get;
  req.target = req.path = "/asset";
  req.headers = std::move(headers);
  return req;
}

}  // namespace

TEST_CASE("an asset without a gzip copy is always sent as is, and not varied") {
  const auto asset = http::make_static_asset("body{}", std::nullopt, "text/css", "no-cache");
  const auto res = http::serve(asset, get({{"Accept-Encoding", "gzip"}}));
  CHECK(res.status == 200);
  CHECK(res.body == "body{}");
  CHECK(res.content_type == "text/css");
  CHECK_FALSE(res.header_value("Content-Encoding"));
  CHECK_FALSE(res.header_value("Vary"));
  CHECK(res.header_value("Cache-Control") == "no-cache");
  CHECK(res.header_value("X-Content-Type-Options") == "nosniff");

  const auto again = http::serve(asset, get({{"If-None-Match", std::string(*res.header_value("ETag"))}}));
  CHECK(again.status == 304);
  CHECK(again.body.empty());
  CHECK(again.header_value("ETag") == res.header_value("ETag"));
  CHECK(again.header_value("Cache-Control") == "no-cache");
}

TEST_CASE("the gzip copy goes to clients that accept it, under its own ETag") {
  const auto asset = http::make_static_asset("plain", std::string_view("zipped"), "text/plain",
                                             "public, max-age=60");
  const auto zipped = http::serve(asset, get({{"Accept-Encoding", "gzip"}}));
  const auto plain = http::serve(asset, get({}));
  CHECK(zipped.body == "zipped");
  CHECK(zipped.header_value("Content-Encoding") == "gzip");
  CHECK(plain.body == "plain");
  CHECK(zipped.header_value("ETag") != plain.header_value("ETag"));
  CHECK(zipped.header_value("Vary") == "Accept-Encoding");
  CHECK(plain.header_value("Vary") == "Accept-Encoding");
}

TEST_CASE("Accept-Encoding and If-None-Match parsing edge cases") {
  CHECK(http::accepts_gzip("GZip;Q=0.5"));
  CHECK(http::accepts_gzip("gzip;q=1.000"));
  CHECK_FALSE(http::accepts_gzip("gzip;q=1.001"));
  CHECK_FALSE(http::accepts_gzip("gzip;q=0.0001"));
  CHECK(http::accepts_gzip("gzip;q=0.001"));
  CHECK(http::accepts_gzip(",,gzip,,"));
  CHECK_FALSE(http::accepts_gzip(",,,"));

  CHECK(http::etag_matches(" * ", "\"x\""));
  CHECK(http::etag_matches("\"x\"", "\"x\""));
  CHECK(http::etag_matches("W/\"x\"", "\"x\""));
  CHECK_FALSE(http::etag_matches("", "\"x\""));
  CHECK_FALSE(http::etag_matches("\"X\"", "\"x\""));
  CHECK_FALSE(http::etag_matches("\"", "\"x\""));
  CHECK_FALSE(http::etag_matches("\"y\" \"x\"", "\"x\""));
}
