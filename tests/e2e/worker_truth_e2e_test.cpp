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
    REQUIRE(
        run(plumbctl,
            {"account", "create", "--email", "truth@example.com", "--password", "truth-password"},
            env)
            .status == 0);
    for (const auto& [domain, tz] :
         {std::pair{"utc.example", "UTC"}, std::pair{"kolkata.example", "Asia/Kolkata"}}) {
      const auto created = run(
          plumbctl, {"site", "create", domain, "--tz", tz, "--account", "truth@example.com"}, env);
      INFO(created.err);
      REQUIRE(created.status == 0);
    }
    pqxx::connection conn(db.dsn());
    pqxx::work tx(conn);
    utc_site = tx.exec1("SELECT id FROM sites WHERE domain = 'utc.example'")[0].as<std::int64_t>();
    kolkata_site =
        tx.exec1("SELECT id FROM sites WHERE domain = 'kolkata.example'")[0].as<std::int64_t>();
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

// Every rollup row of the database equals the truth of `data` (see e2e::compare_rollups).
void check_rollups(pqxx::connection& conn, const system_under_test& sut,
                   const datagen::generated& data, bool visit_visitors_exact) {
  const auto result = e2e::compare_rollups(
      conn, data, {{sut.utc_site, 0}, {sut.kolkata_site, kolkata_offset_ms}}, visit_visitors_exact);
  std::string report;
  for (const auto& line : result.mismatches) {
    report += line + "\n";
  }
  INFO(result.rows_compared << " rollup rows compared; mismatches:\n" << report);
  CHECK(result.rows_compared > 500);  // daily rows of every dimension: enough to mean something
  CHECK(result.mismatches.empty());
}

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
  INFO("seed " << opts.seed << ", " << data.events.size() << " events, " << data.visits.size()
               << " visits");
  const events::keys keys(sut.prefix);
  e2e::push_events(redis_url(), keys, data.events);

  std::vector<std::unique_ptr<process>> workers;
  for (int i = 0; i < worker_count; ++i) {
    workers.push_back(
        std::make_unique<process>(service_binary("worker"), std::vector<std::string>{},
                                  sut.worker_env("truth-" + std::to_string(i), in_order)));
  }
  pqxx::connection conn(sut.db.dsn());
  const bool drained =
      e2e::wait_until_stored(conn, redis_url(), keys, static_cast<std::int64_t>(data.events.size()),
                             std::chrono::seconds(600));
  INFO("worker log:\n" << workers[0]->output());
  REQUIRE(drained);

  check_rollups(conn, sut, data, in_order);
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

// `plumbctl gen --bulk` stores history without Redis or workers, through the same ingest steps
// with an in-memory visit tracker: its rollups must equal the truth as exactly as an in-order
// worker's. Ten days make two generation chunks (7 + 3 days, seeds S and S + 1, the events
// target split by days), whose truths together are what was stored.
TEST_CASE("plumbctl gen --bulk stores history that rolls up exactly to the truth") {
  system_under_test sut;
  const auto result = run(service_binary("plumbctl"),
                          {"gen", "--bulk", "--site", "utc.example", "--weight", "utc.example=3",
                           "--site", "kolkata.example", "--events", "15000", "--days", "10",
                           "--start", "2026-03-02", "--seed", "20261122", "--tail-pages", "300"},
                          sut.env);
  INFO(result.err);
  REQUIRE(result.status == 0);

  datagen::generated data;
  for (const auto& [seed, first_day, days, events] :
       {std::tuple{20261122ULL, 0, 7, 10'500}, std::tuple{20261123ULL, 7, 3, 4'500}}) {
    datagen::options opts;
    opts.seed = static_cast<std::uint64_t>(seed);
    opts.sites = {{sut.utc_site, "utc.example", 3}, {sut.kolkata_site, "kolkata.example", 1}};
    opts.start_ms = start_ms + first_day * 86'400'000;
    opts.days = days;
    opts.target_events = events;
    opts.tail_pages = 300;
    auto chunk = datagen::generate(opts);
    data.events.insert(data.events.end(), chunk.events.begin(), chunk.events.end());
    data.visits.insert(data.visits.end(), chunk.visits.begin(), chunk.visits.end());
  }
  CHECK(result.out.find("\"events\":" + std::to_string(data.events.size()) + ",") !=
        std::string::npos);

  pqxx::connection conn(sut.db.dsn());
  CHECK(pqxx::work(conn).exec1("SELECT count(*) FROM events")[0].as<std::size_t>() ==
        data.events.size());
  check_rollups(conn, sut, data, /*visit_visitors_exact=*/true);
}
