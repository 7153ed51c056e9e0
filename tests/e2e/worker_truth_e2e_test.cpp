// Workers against ground truth: datagen's events go through real Redis, four worker processes
// and PostgreSQL, and every rollup must equal what datagen says the traffic was.
#include <catch2/catch.hpp>

#include "plumb/test_support/environment.hpp"
#include "plumb/test_support/process.hpp"
#include "rollup_truth.hpp"

using namespace plumb;
using namespace plumb::test_support;

namespace {

// 2026-03-02T00:00Z, a Monday; three days include two midnights (visits continue across them).
constexpr std::int64_t start_ms = 1'772'409'600'000;
constexpr std::int64_t kolkata_offset_ms = 19'800'000;  // +05:30, no DST

struct system_under_test {
  scoped_database db;
  std::string prefix = unique_name("truth:") + ":";
  std::map<std::string, std::string> env{{"PLUMB_PG_DSN", db.dsn()},
                                         {"PLUMB_REDIS_URL", redis_url()},
                                         {"PLUMB_REDIS_PREFIX", prefix},
                                         {"PLUMB_LOG_LEVEL", "warn"}};
  std::int64_t utc_site = 0;
  std::int64_t kolkata_site = 0;

  system_under_test() {
    const auto plumbctl = service_binary("plumbctl");
    REQUIRE(run(plumbctl, {"migrate"}, env).status == 0);
    REQUIRE(run(plumbctl, {"account", "create", "--email", "truth@example.com", "--password", "truth-password"}, env)
                .status == 0);
    for (const auto& [domain, tz] : {std::pair{"utc.example", "UTC"}, std::pair{"kolkata.example", "Asia/Kolkata"}}) {
      const auto created = run(plumbctl, {"site", "create", domain, "--tz", tz, "--account", "truth@example.com"}, env);
      INFO(created.err);
      REQUIRE(created.status == 0);
    }
    pqxx::connection conn(db.dsn());
    pqxx::work tx(conn);
    utc_site = tx.exec1("SELECT id FROM sites WHERE domain = 'utc.example'")[0].as<std::int64_t>();
    kolkata_site = tx.exec1("SELECT id FROM sites WHERE domain = 'kolkata.example'")[0].as<std::int64_t>();
  }

  std::map<std::string, std::string> worker_env(const std::string& name, bool in_order) const {
    auto e = env;
    if (in_order) {
      e["PLUMB_WORKER_SITE_SHARE_PERCENT"] = "100";  // no deferrals
    }
    e["PLUMB_WORKER_NAME"] = name;
    e["PLUMB_WORKER_BATCH_SIZE"] = "500";
    e["PLUMB_WORKER_BATCH_WAIT_MS"] = "100";
    return e;
  }
};


// Pushes the traffic, runs `worker_count` workers until it is stored, compares with the truth.
// `in_order`: one worker without fairness deferrals, so every event is seen in stream order.
void check_against_truth(std::int64_t events, int worker_count, bool in_order) {
  system_under_test sut;
  datagen::options opts;
  opts.seed = 20261122;
  opts.sites = {{sut.utc_site, "utc.example", 3}, {sut.kolkata_site, "kolkata.example", 1}};
  opts.start_ms = start_ms;
  opts.days = 3;
  opts.target_events = events;
  const auto data = datagen::generate(opts);
  INFO("seed " << opts.seed << ", " << data.events.size() << " events, " << data.visits.size() << " visits");
  const events::keys keys(sut.prefix);
  e2e::push_events(redis_url(), keys, data.events);

  std::vector<std::unique_ptr<process>> workers;
  for (int i = 0; i < worker_count; ++i) {
    workers.push_back(std::make_unique<process>(service_binary("worker"), std::vector<std::string>{},
                                                sut.worker_env("truth-" + std::to_string(i), in_order)));
  }
  pqxx::connection conn(sut.db.dsn());
  const bool drained = e2e::wait_until_stored(conn, redis_url(), keys,
                                              static_cast<std::int64_t>(data.events.size()),
                                              std::chrono::seconds(600));
  INFO("worker log:\n" << workers[0]->output());
  REQUIRE(drained);

  const auto result = e2e::compare_rollups(conn, data, {{sut.utc_site, 0}, {sut.kolkata_site, kolkata_offset_ms}},
                                           in_order);
  std::string report;
  for (const auto& line : result.mismatches) {
    report += line + "\n";
  }
  INFO(result.rows_compared << " rollup rows compared; mismatches:\n" << report);
  CHECK(result.rows_compared > 1'000);
  CHECK(result.mismatches.empty());
}

}  // namespace

// Four workers process a stream holding three days of traffic in seconds, and the backlog makes
// them defer the busier site's excess (fairness), so events of one visit are constantly seen out
// of order: every counter must still be exact, and no visitor is missing from any sketch.
TEST_CASE("50,000 generated events through four workers roll up exactly to the truth") {
  check_against_truth(50'000, 4, /*in_order=*/false);
}

// One worker sees events in stream order: visitor sketches must match the truth too.
TEST_CASE("events processed in order give exact visitor counts in every dimension") {
  check_against_truth(20'000, 1, /*in_order=*/true);
}
