// The whole path with real binaries: tracker hit -> collector -> Redis stream -> workers ->
// PostgreSQL -> dashboard Stats API, against the PostgreSQL and Redis `scripts/plumb test` started.
#include <catch2/catch.hpp>
#include <thread>

#include "plumb/geo/testing/mmdb_writer.hpp"
#include "plumb/test_support/environment.hpp"
#include "plumb/test_support/process.hpp"
#include "plumb/test_support/redis_server.hpp"

using namespace plumb::test_support;

namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) {
    s.pop_back();
  }
  return s;
}

// Pageviews the dashboard reports for today, or -1 when the request fails.
long long dashboard_pageviews(std::uint16_t port, const std::string& key, const std::string& site) {
  const auto reply = http_request("GET", port,
                                  "/api/v1/stats/aggregate?site_id=" + site + "&period=day&metrics=pageviews",
                                  "", {{"Authorization", "Bearer " + key}});
  if (reply.status != 200) {
    return -1;
  }
  const std::string marker = R"({"results":{"pageviews":{"value":)";
  if (reply.body.rfind(marker, 0) != 0) {
    return -1;
  }
  return std::stoll(reply.body.substr(marker.size()));
}

}  // namespace

TEST_CASE("1,000 hits over HTTP are counted exactly once by the dashboard API") {
  scoped_database db;
  temp_dir spool("plumb-spool-");
  const std::map<std::string, std::string> env{
      {"PLUMB_PG_DSN", db.dsn()},
      {"PLUMB_REDIS_URL", redis_url()},
      {"PLUMB_REDIS_PREFIX", unique_name("e2e:") + ":"},
      {"PLUMB_LOG_LEVEL", "info"}};
  auto with = [&env](std::map<std::string, std::string> extra) {
    extra.insert(env.begin(), env.end());
    return extra;
  };
  const std::string plumbctl = service_binary("plumbctl");
  const std::string site = "e2e.example";

  REQUIRE(run(plumbctl, {"migrate"}, env).status == 0);
  REQUIRE(run(plumbctl, {"account", "create", "--email", "owner@e2e.example", "--password", "e2e-password"}, env)
              .status == 0);
  const auto created = run(plumbctl, {"site", "create", site, "--tz", "Europe/Berlin", "--account", "owner@e2e.example"}, env);
  INFO(created.err);
  REQUIRE(created.status == 0);
  const auto key_run = run(plumbctl, {"api-key", "create", "--account", "owner@e2e.example"}, env);
  REQUIRE(key_run.status == 0);
  const std::string key = trim(key_run.out);
  REQUIRE(key.rfind("plumb_", 0) == 0);

  // A city database placing the loopback hits in Munich (GeoIP2 City layout).
  namespace mmdb = plumb::geo::testing::mmdb;
  const plumb::geo::testing::temp_file city_db(plumb::geo::testing::build_mmdb({
      {"127.0.0.0", 8, mmdb::geoip2_city("DE", "BY", "Munich")},
  }));
  process collector(service_binary("collector"), {},
                    with({{"PLUMB_COLLECTOR_LISTEN", "127.0.0.1:0"},
                          {"PLUMB_SPOOL_DIR", spool.path().string()},
                          {"PLUMB_GEOIP_DB", city_db.path()}}));
  process worker_a(service_binary("worker"), {}, with({{"PLUMB_WORKER_NAME", "e2e-a"}, {"PLUMB_WORKER_BATCH_WAIT_MS", "100"}}));
  process worker_b(service_binary("worker"), {}, with({{"PLUMB_WORKER_NAME", "e2e-b"}, {"PLUMB_WORKER_BATCH_WAIT_MS", "100"}}));
  // The dashboard as in production: the plumb_dashboard role, under row-level security.
  process dashboard(service_binary("dashboard"), {},
                    with({{"PLUMB_DASHBOARD_LISTEN", "127.0.0.1:0"},
                          {"PLUMB_PG_DSN", as_dashboard_role(db.dsn())},
                          {"PLUMB_DASHBOARD_SECRET", "e2e-secret-e2e-secret-e2e-secret-e2e-secret"}}));
  const auto collector_port = collector.wait_for_port();
  worker_a.wait_for_port();
  worker_b.wait_for_port();
  const auto dashboard_port = dashboard.wait_for_port();
  INFO("collector log:\n" << collector.output() << "\nworker log:\n" << worker_a.output());

  for (int i = 0; i < 1'000; ++i) {
    const std::string body = R"({"n":"pageview","u":"https://e2e.example/page/)" + std::to_string(i % 37) +
                             R"(","d":"e2e.example","r":"https://search.example/","w":1280})";
    const auto reply = http_request("POST", collector_port, "/api/event", body,
                                    {{"Content-Type", "text/plain"},
                                     {"User-Agent", "Mozilla/5.0 e2e-" + std::to_string(i % 50)}});
    REQUIRE(reply.status == 202);
  }
  // Hits for a domain nobody registered are answered the same, but never counted.
  for (int i = 0; i < 5; ++i) {
    CHECK(http_request("POST", collector_port, "/api/event",
                       R"({"n":"pageview","u":"https://unknown.example/","d":"unknown.example"})")
              .status == 202);
  }
  // Invalid hits are refused with a JSON errors object naming the field.
  const auto missing_name = http_request("POST", collector_port, "/api/event", R"({"u":"https://e2e.example/"})");
  CHECK(missing_name.status == 400);
  CHECK(missing_name.body.find(R"("name")") != std::string::npos);
  const auto not_json = http_request("POST", collector_port, "/api/event", "{nope");
  CHECK(not_json.status == 400);
  CHECK(not_json.body.find(R"("errors")") != std::string::npos);

  long long counted = -1;
  for (int attempt = 0; attempt < 600 && counted < 1'000; ++attempt) {
    counted = dashboard_pageviews(dashboard_port, key, site);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(counted == 1'000);
  // Nothing more trickles in afterwards (no duplicates, no stray events).
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(dashboard_pageviews(dashboard_port, key, site) == 1'000);

  // Every visit is in the city database's region and city.
  for (const auto& [property, value] : {std::pair{"visit:region", "DE-BY"}, std::pair{"visit:city", "Munich, DE-BY"}}) {
    const auto located = http_request(
        "GET", dashboard_port,
        "/api/v1/stats/breakdown?site_id=e2e.example&period=day&metrics=pageviews&property=" + std::string(property), "",
        {{"Authorization", "Bearer " + key}});
    CHECK(located.status == 200);
    CHECK(located.body.find(std::string(R"(":")") + value + R"(","pageviews":1000})") != std::string::npos);
  }

  // The API refuses bad keys, other tenants' sites and unknown metrics clearly.
  CHECK(http_request("GET", dashboard_port, "/api/v1/stats/aggregate?site_id=e2e.example&period=day", "",
                     {{"Authorization", "Bearer plumb_wrong"}})
            .status == 401);
  CHECK(http_request("GET", dashboard_port, "/api/v1/stats/aggregate?site_id=other.example&period=day", "",
                     {{"Authorization", "Bearer " + key}})
            .status == 404);
  const auto bad_metric = http_request("GET", dashboard_port,
                                       "/api/v1/stats/aggregate?site_id=e2e.example&metrics=pageviewz", "",
                                       {{"Authorization", "Bearer " + key}});
  CHECK(bad_metric.status == 400);
  CHECK(bad_metric.body.find("valid metrics") != std::string::npos);

  for (auto* p : {&collector, &worker_a, &worker_b, &dashboard}) {
    CHECK(p->stop() == 0);  // SIGTERM: graceful shutdown exits 0
  }
}
