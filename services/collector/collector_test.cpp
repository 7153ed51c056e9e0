#include "collector.hpp"

#include <catch2/catch.hpp>

#include "plumb/geo/testing/mmdb_writer.hpp"
#include "plumb/http/router.hpp"
#include "plumb/queue/stream.hpp"

using namespace plumb;
using namespace plumb::collector;

namespace {

// The handler with its real collaborators, a fixed clock and a vector as the stream.
struct fixture {
  site_cache sites;
  salt_store salts;
  geo::resolver geo;
  core::fake_clock clock{core::from_unix_ms(1'700'000'000'000)};  // 2023-11-14T22:13:20Z
  metrics::registry registry;
  std::vector<events::fields> stream;
  bool sink_full = false;
  bool storage_fails = false;
  http::router routes;

  explicit fixture(std::vector<core::cidr> proxies = {}, geo::resolver g = geo::resolver::none())
      : geo(std::move(g)) {
    sites.replace({{"example.com", {1, "UTC", false, {}, {}}}, {"private.example", {2, "UTC", true, {}, {}}}});
    using namespace std::chrono;
    salts.set(sys_days(year(2023) / 11 / 14), std::string(salt_bytes, 'a'));
    salts.set(sys_days(year(2023) / 11 / 13), std::string(salt_bytes, 'b'));
    add_ingest_routes(routes, std::make_shared<const ingest_handler>(
                                  sites, salts, geo, clock, std::move(proxies),
                                  [this](std::vector<std::string> records, std::function<void(bool)> stored) {
                                    if (sink_full) {
                                      return false;
                                    }
                                    for (const auto& record : records) {
                                      stream.push_back(*queue::deserialize(record));
                                    }
                                    stored(!storage_fails);
                                    return true;
                                  },
                                  registry));
  }

  http::response send(http::verb method, std::string target, std::string body = {},
                      std::vector<http::header> headers = {}, std::string peer = "198.51.100.9") {
    http::request req;
    req.method = method;
    req.target = target;
    req.path = target.substr(0, target.find('?'));
    req.query = target.find('?') == std::string::npos ? "" : target.substr(target.find('?') + 1);
    req.body = std::move(body);
    req.headers = std::move(headers);
    req.peer_address = std::move(peer);
    const auto* route = routes.match(req);
    if (route == nullptr) {
      return routes.fallback_response(req);
    }
    if (route->fn) {
      return route->fn(req);
    }
    // The test sink stores synchronously, so the responder has been called on return.
    std::optional<http::response> answer;
    route->async_fn(req, http::responder([&answer](http::response res) { answer = std::move(res); }));
    REQUIRE(answer);
    return *answer;
  }

  std::string field(std::size_t entry, std::string_view name) const {
    for (const auto& [k, v] : stream.at(entry)) {
      if (k == name) {
        return v;
      }
    }
    return {};
  }
};

constexpr std::string_view pageview = R"({"n":"pageview","u":"https://example.com/a","d":"example.com"})";

}  // namespace

TEST_CASE("status codes of the ingestion endpoint") {
  fixture f;
  CHECK(f.send(http::verb::post, "/api/event", std::string(pageview)).status == 202);
  CHECK(f.send(http::verb::post, "/api/event", "{").status == 400);
  CHECK(f.send(http::verb::options, "/api/event").status == 204);
  CHECK(f.send(http::verb::put, "/api/event").status == 405);
  CHECK(f.send(http::verb::get, "/api/nope").status == 404);
  const auto pixel = f.send(http::verb::get, "/api/event?n=pageview&u=https%3A%2F%2Fexample.com%2Fp");
  CHECK(pixel.status == 200);
  CHECK(pixel.content_type == "image/gif");
  CHECK(pixel.body.size() == 43);
  CHECK(f.send(http::verb::get, "/api/event?u=https%3A%2F%2Fexample.com%2F").status == 400);
  f.sink_full = true;
  CHECK(f.send(http::verb::post, "/api/event", std::string(pageview)).status == 503);
  f.sink_full = false;
  f.storage_fails = true;
  CHECK(f.send(http::verb::post, "/api/event", std::string(pageview)).status == 503);
  const std::string metrics = f.registry.render();
  CHECK(metrics.find(R"(outcome="dropped_queue_full"} 1)") != std::string::npos);
  CHECK(metrics.find(R"(outcome="dropped_storage_failed"} 1)") != std::string::npos);
}

TEST_CASE("an accepted hit becomes a complete stream entry without the IP") {
  fixture f;
  const auto res = f.send(http::verb::post, "/api/event",
                          R"({"n":"Signup","u":"https://example.com/a","d":"example.com","p":{"plan":"pro"}})",
                          {{"User-Agent", "Mozilla/5.0 test"}});
  REQUIRE(res.status == 202);
  REQUIRE(f.stream.size() == 1);
  const auto decoded = events::decode(f.stream[0]);
  REQUIRE(decoded);
  CHECK(decoded->site_id == 1);
  CHECK(decoded->name == "Signup");
  CHECK(decoded->received_ms == 1'700'000'000'000);
  CHECK(decoded->props_json == R"({"plan":"pro"})");
  CHECK(decoded->user_agent == "Mozilla/5.0 test");
  CHECK(decoded->visitor_hash ==
        visitor_hash(std::string(salt_bytes, 'a'), 1, "198.51.100.9", "Mozilla/5.0 test"));
  CHECK(decoded->previous_visitor_hash ==
        visitor_hash(std::string(salt_bytes, 'b'), 1, "198.51.100.9", "Mozilla/5.0 test"));
  for (const auto& [k, v] : f.stream[0]) {
    CHECK(v.find("198.51.100.9") == std::string::npos);
  }
}

TEST_CASE("a city database's country, region and city go into the stream entry, the IP does not") {
  namespace mmdb = geo::testing::mmdb;
  const geo::testing::temp_file file(geo::testing::build_mmdb({
      // GeoIP2 City layout: ISO 3166-2 subdivision code and English name.
      {"198.51.100.0", 24, mmdb::geoip2_city("DE", "BY", "Munich")},
      // The flat layout of DB-IP's city files: a city but no region code.
      {"203.0.113.0", 24,
       mmdb::map({{"country_code", mmdb::utf8("FR")}, {"city", mmdb::utf8("Paris")}})},
      {"192.0.2.0", 24, mmdb::map({{"country_code", mmdb::utf8("NL")}})},
  }));
  auto opened = geo::resolver::open({file.path()});
  REQUIRE(opened);
  fixture f({}, std::move(*opened));
  const std::vector<http::header> ua{{"User-Agent", "Mozilla/5.0 test"}};
  for (const char* peer : {"198.51.100.9", "203.0.113.7", "192.0.2.1", "10.0.0.1"}) {
    REQUIRE(f.send(http::verb::post, "/api/event", std::string(pageview), ua, peer).status == 202);
  }
  REQUIRE(f.stream.size() == 4);
  CHECK(f.field(0, "cc") == "DE");
  CHECK(f.field(0, "rg") == "DE-BY");
  CHECK(f.field(0, "ci") == "Munich");
  CHECK(f.field(1, "cc") == "FR");
  CHECK(f.field(1, "rg").empty());
  CHECK(f.field(1, "ci") == "Paris");
  CHECK(f.field(2, "cc") == "NL");
  const auto decoded = events::decode(f.stream[0]);
  REQUIRE(decoded);
  CHECK(decoded->region == "DE-BY");
  CHECK(decoded->city == "Munich");
  // Unknown fields are absent, not empty: entries stay as short as before for country databases.
  for (const std::size_t entry : {std::size_t{2}, std::size_t{3}}) {
    for (const auto& [k, v] : f.stream[entry]) {
      CHECK(k != "rg");
      CHECK(k != "ci");
      CHECK((entry == 2 || k != "cc"));
    }
  }
  for (const auto& entry : f.stream) {
    for (const auto& [k, v] : entry) {
      for (const char* ip : {"198.51.100.9", "203.0.113.7", "192.0.2.1", "10.0.0.1"}) {
        CHECK(v.find(ip) == std::string::npos);
      }
    }
  }
}

TEST_CASE("unknown domains, opted-out visitors and missing salts are answered 202 but dropped") {
  fixture f;
  CHECK(f.send(http::verb::post, "/api/event", R"({"n":"pageview","u":"https://unknown.example/"})").status == 202);
  // DNT only matters for sites that chose to honour it.
  CHECK(f.send(http::verb::post, "/api/event", std::string(pageview), {{"DNT", "1"}}).status == 202);
  CHECK(f.send(http::verb::post, "/api/event", R"({"n":"pageview","u":"https://private.example/"})",
               {{"Sec-GPC", "1"}})
            .status == 202);
  CHECK(f.stream.size() == 1);
  f.clock.advance(std::chrono::hours(48));  // no salt loaded for that day
  CHECK(f.send(http::verb::post, "/api/event", std::string(pageview)).status == 202);
  CHECK(f.stream.size() == 1);
  const std::string metrics = f.registry.render();
  CHECK(metrics.find(R"(outcome="dropped_unknown_site"} 1)") != std::string::npos);
  CHECK(metrics.find(R"(outcome="dropped_do_not_track"} 1)") != std::string::npos);
  CHECK(metrics.find(R"(outcome="dropped_no_salt"} 1)") != std::string::npos);
  CHECK(metrics.find(R"(outcome="accepted"} 1)") != std::string::npos);
}

TEST_CASE("a site's excluded IP ranges and allowed hostnames drop hits at the collector") {
  fixture f;
  events::site_descriptor site{1, "UTC", false, *core::parse_cidr_list("203.0.113.0/24, 2001:db8::/32"),
                               {"example.com", "*.example.com"}};
  f.sites.replace({{"example.com", site}});
  const auto post = [&f](std::string url, std::string peer) {
    return f.send(http::verb::post, "/api/event", R"({"n":"pageview","d":"example.com","u":")" + url + R"("})", {},
                  std::move(peer));
  };
  CHECK(post("https://example.com/", "203.0.113.9").status == 202);
  CHECK(post("https://example.com/", "2001:db8::5").status == 202);
  CHECK(post("https://elsewhere.example/", "198.51.100.9").status == 202);
  CHECK(f.stream.empty());
  CHECK(post("https://Shop.Example.com:8443/cart", "198.51.100.9").status == 202);
  CHECK(post("https://example.com/", "198.51.100.9").status == 202);
  CHECK(f.stream.size() == 2);
  const std::string metrics = f.registry.render();
  CHECK(metrics.find(R"(outcome="dropped_excluded_address"} 2)") != std::string::npos);
  CHECK(metrics.find(R"(outcome="dropped_hostname_not_allowed"} 1)") != std::string::npos);
}

TEST_CASE("one hit may count for several registered sites") {
  fixture f;
  CHECK(f.send(http::verb::post, "/api/event",
               R"({"n":"pageview","u":"https://example.com/","d":"example.com,private.example,nope.example"})")
            .status == 202);
  REQUIRE(f.stream.size() == 2);
  CHECK(f.field(0, "site") == "1");
  CHECK(f.field(1, "site") == "2");
  CHECK(f.field(0, "id") != f.field(1, "id"));
}

TEST_CASE("the visitor hash uses the forwarded client address only behind a trusted proxy") {
  fixture direct;
  direct.send(http::verb::post, "/api/event", std::string(pageview), {{"X-Forwarded-For", "203.0.113.7"}}, "10.0.0.2");
  fixture proxied(*core::parse_cidr_list("10.0.0.0/8"));
  proxied.send(http::verb::post, "/api/event", std::string(pageview), {{"X-Forwarded-For", "203.0.113.7"}}, "10.0.0.2");
  fixture client;
  client.send(http::verb::post, "/api/event", std::string(pageview), {}, "203.0.113.7");
  CHECK(proxied.field(0, "vh") == client.field(0, "vh"));
  CHECK(direct.field(0, "vh") != client.field(0, "vh"));
}
