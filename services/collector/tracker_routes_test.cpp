#include "tracker_routes.hpp"

#include <array>
#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace plumb;

std::string_view embedded(std::string_view name) {
  for (const auto& file : collector::tracker_files()) {
    if (file.name == name) {
      return file.data;
    }
  }
  return {};
}

http::response get(const http::router& routes, const std::string& path,
                   std::vector<http::header> headers = {}) {
  http::request req;
  req.method = http::verb::get;
  req.target = path;
  req.path = path;
  req.headers = std::move(headers);
  const auto* route = routes.match(req);
  REQUIRE(route != nullptr);
  REQUIRE(route->fn);
  return route->fn(req);
}

http::router tracker_router(const std::string& alias = "") {
  http::router routes;
  collector::add_tracker_routes(routes, alias);
  return routes;
}

// CRC-32 as gzip's trailer carries it (ISO 3309, reflected, polynomial 0xEDB88320).
std::uint32_t crc32(std::string_view data) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (const char c : data) {
    crc ^= static_cast<unsigned char>(c);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
  }
  return ~crc;
}

std::uint32_t little_endian_u32(std::string_view bytes) {
  std::uint32_t out = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    out |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  }
  return out;
}

}  // namespace

TEST_CASE("the embedded gzip is exactly the minified script, compressed") {
  const auto plain = embedded("script.js");
  const auto gzip = embedded("script.js.gz");
  REQUIRE(plain.size() > 100);
  REQUIRE(gzip.size() > 18);
  // gzip header: magic 1f 8b, method 8 (deflate), and -n: no name, time stamp 0.
  CHECK(static_cast<unsigned char>(gzip[0]) == 0x1f);
  CHECK(static_cast<unsigned char>(gzip[1]) == 0x8b);
  CHECK(gzip[2] == 8);
  CHECK(gzip.substr(4, 4) == std::string_view("\0\0\0\0", 4));
  // The trailer holds the CRC-32 and length of the uncompressed data: they pin its content
  // without a decompressor in the test.
  CHECK(little_endian_u32(gzip.substr(gzip.size() - 8)) == crc32(plain));
  CHECK(little_endian_u32(gzip.substr(gzip.size() - 4)) == plain.size());
  CHECK(gzip.size() <= 1024);  // the size budget the build enforces
  // Minified: the readable source's comments are gone, the API is still there.
  CHECK(plain.find("/*") == std::string_view::npos);
  CHECK(plain.find("/api/event") != std::string_view::npos);
  CHECK(plain.find(".plumb=") != std::string_view::npos);
}

TEST_CASE("GET /js/script.js serves the script with caching headers") {
  const auto routes = tracker_router();
  const auto res = get(routes, "/js/script.js");
  CHECK(res.status == 200);
  CHECK(res.content_type == "text/javascript; charset=utf-8");
  CHECK(res.body == embedded("script.js"));
  CHECK_FALSE(res.header_value("Content-Encoding"));
  CHECK(res.header_value("Cache-Control") == "public, max-age=86400, stale-while-revalidate=604800");
  CHECK(res.header_value("Vary") == "Accept-Encoding");
  const auto etag = res.header_value("ETag");
  REQUIRE(etag);
  // Strong: quoted hex SHA-256, no W/ prefix.
  CHECK(etag->size() == 66);
  CHECK(etag->front() == '"');
  CHECK(etag->back() == '"');
}

TEST_CASE("gzip is sent only to clients that accept it") {
  const auto routes = tracker_router();
  const auto plain = get(routes, "/js/script.js");
  const auto plain_etag = plain.header_value("ETag");

  for (const auto& accept :
       std::vector<std::string>{"gzip", "gzip, deflate, br", "br;q=1.0, GZIP;q=0.5", "x-gzip", "*",
                                "deflate, *;q=0.1", " gzip ; q=1 "}) {
    INFO("Accept-Encoding: " << accept);
    const auto res = get(routes, "/js/script.js", {{"Accept-Encoding", accept}});
    CHECK(res.status == 200);
    CHECK(res.body == embedded("script.js.gz"));
    CHECK(res.header_value("Content-Encoding") == "gzip");
    CHECK(res.content_type == "text/javascript; charset=utf-8");
    CHECK(res.header_value("Vary") == "Accept-Encoding");
    // The gzipped bytes are another representation, with their own validator.
    CHECK(res.header_value("ETag") != plain_etag);
  }
  for (const auto& accept :
       std::vector<std::string>{"", "identity", "br, deflate", "gzip;q=0", "gzip; q=0.000",
                                "gzip;q=0.", "*;q=0", "*, gzip;q=0", "gzip, gzip;q=0", "gzip;q=2",
                                "gzip;q=abc", "gzipx", "agzip", "deflate;q=0.5;gzip"}) {
    INFO("Accept-Encoding: " << accept);
    const auto res = get(routes, "/js/script.js", {{"Accept-Encoding", accept}});
    CHECK(res.body == embedded("script.js"));
    CHECK_FALSE(res.header_value("Content-Encoding"));
    CHECK(res.header_value("ETag") == plain_etag);
    CHECK(res.header_value("Vary") == "Accept-Encoding");
  }
}

TEST_CASE("If-None-Match with the current ETag answers 304 without a body") {
  const auto routes = tracker_router();
  for (const auto& accept : std::vector<std::string>{"", "gzip"}) {
    INFO("Accept-Encoding: " << accept);
    const auto first = get(routes, "/js/script.js", {{"Accept-Encoding", accept}});
    const std::string etag(first.header_value("ETag").value_or(""));
    REQUIRE_FALSE(etag.empty());

    for (const auto& tags : std::vector<std::string>{etag, "W/" + etag, "\"other\", " + etag,
                                                     "\"a,b\" ," + etag + " ", "*"}) {
      INFO("If-None-Match: " << tags);
      const auto res =
          get(routes, "/js/script.js", {{"Accept-Encoding", accept}, {"If-None-Match", tags}});
      CHECK(res.status == 304);
      CHECK(res.body.empty());
      CHECK(res.content_type.empty());
      CHECK_FALSE(res.header_value("Content-Encoding"));
      CHECK(res.header_value("ETag") == etag);
      CHECK(res.header_value("Cache-Control") == std::string(collector::tracker_cache_control));
      CHECK(res.header_value("Vary") == "Accept-Encoding");
    }
    for (const auto& tags :
         std::vector<std::string>{"\"other\"", etag.substr(1, etag.size() - 2), "W/\"x\"",
                                  "\"unterminated", "garbage " + etag}) {
      INFO("If-None-Match: " << tags);
      const auto res =
          get(routes, "/js/script.js", {{"Accept-Encoding", accept}, {"If-None-Match", tags}});
      CHECK(res.status == 200);
      CHECK(res.body == first.body);
    }
  }
  // A cached plain copy does not validate the gzipped representation, and the other way round.
  const auto plain = get(routes, "/js/script.js");
  const std::string plain_etag(plain.header_value("ETag").value_or(""));
  CHECK(get(routes, "/js/script.js", {{"Accept-Encoding", "gzip"}, {"If-None-Match", plain_etag}})
            .status == 200);
}

TEST_CASE("the alias serves the same script under another name") {
  const auto routes = tracker_router("stats-7");
  const auto original = get(routes, "/js/script.js", {{"Accept-Encoding", "gzip"}});
  const auto aliased = get(routes, "/js/stats-7.js", {{"Accept-Encoding", "gzip"}});
  CHECK(aliased.status == 200);
  CHECK(aliased.body == original.body);
  CHECK(aliased.content_type == "text/javascript; charset=utf-8");
  CHECK(aliased.header_value("ETag") == original.header_value("ETag"));
  CHECK(aliased.header_value("Content-Encoding") == "gzip");

  http::request other;
  other.path = "/js/other.js";
  CHECK(routes.match(other) == nullptr);
}

TEST_CASE("an invalid alias registers nothing beyond /js/script.js") {
  for (const auto& alias : std::vector<std::string>{"", "Upper", "a/b", "../x", "a.b", "dot.",
                                                    std::string(41, 'a'), "sp ace"}) {
    INFO("alias: " << alias);
    CHECK_FALSE(collector::valid_tracker_alias(alias));
    const auto routes = tracker_router(alias);
    http::request req;
    req.path = "/js/" + alias + ".js";
    CHECK(routes.match(req) == nullptr);
    CHECK(get(routes, "/js/script.js").status == 200);
  }
  CHECK(collector::valid_tracker_alias(std::string(40, 'a')));
  CHECK(collector::valid_tracker_alias("pa-0"));
}

TEST_CASE("HEAD /js/script.js reaches the GET handler") {
  const auto routes = tracker_router();
  http::request req;
  req.method = http::verb::head;
  req.path = "/js/script.js";
  const auto* route = routes.match(req);
  REQUIRE(route != nullptr);
  CHECK(route->method == http::verb::get);
}
