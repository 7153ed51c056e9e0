// Workers under faults, checked against ground truth: workers SIGKILLed at random points, and
// PostgreSQL stopped mid-stream. Nothing may be lost and nothing counted twice.
#include <catch2/catch.hpp>
#include <csignal>
#include <random>
#include <thread>

#include "plumb/test_support/environment.hpp"
#include "plumb/test_support/pg_server.hpp"
#include "plumb/test_support/process.hpp"
#include "rollup_truth.hpp"

using namespace plumb;
using namespace plumb::test_support;

namespace {

constexpr std::int64_t start_ms = 1'772'409'600'000;  // 2026-03-02T00:00Z

std::uint64_t test_seed() {
  const char* value = std::getenv("PLUMB_TEST_SEED");
  return value != nullptr ? std::stoull(value) : std::random_device{}();
}

int pg_outage_seconds() {
  const char* value = std::getenv("PLUMB_TEST_PG_OUTAGE_SECONDS");
  return value != nullptr ? std::atoi(value) : 60;
}

// A database with the schema, one account and one UTC site; returns the site id.
std::int64_t prepare(const std::map<std::string, std::string>& env, const std::string& dsn) {
  const auto plumbctl = service_binary("plumbctl");
  REQUIRE(run(plumbctl, {"migrate"}, env).status == 0);
  REQUIRE(run(plumbctl, {"account", "create", "--email", "faults@example.com", "--password", "faults-password"}, env)
              .status == 0);
  REQUIRE(run(plumbctl, {"site", "create", "faults.example", "--tz", "UTC", "--account", "faults@example.com"}, env)
              .status == 0);
  pqxx::connection conn(dsn);
  pqxx::work tx(conn);
  return tx.exec1("SELECT id FROM sites WHERE domain = 'faults.example'")[0].as<std::int64_t>();
}

datagen::generated traffic(std::int64_t site_id, std::int64_t events, std::uint64_t seed) {
  datagen::options opts;
  opts.seed = seed;
  opts.sites = {{site_id, "faults.example", 1}};
  opts.start_ms = start_ms;
  opts.days = 2;
  opts.target_events = events;
  return datagen::generate(opts);
}

std::map<std::string, std::string> worker_env(std::map<std::string, std::string> env, const std::string& name) {
  env["PLUMB_WORKER_NAME"] = name;
  env["PLUMB_WORKER_BATCH_SIZE"] = "200";
  env["PLUMB_WORKER_BATCH_WAIT_MS"] = "50";
  // Entries a killed worker held are taken over after a second.
  env["PLUMB_WORKER_CLAIM_IDLE_MS"] = "1000";
  return env;
}

void check_truth(pqxx::connection& conn, const datagen::generated& data, std::int64_t site_id) {
  const auto result = e2e::compare_rollups(conn, data, {{site_id, 0}}, false);
  std::string report;
  for (const auto& line : result.mismatches) {
    report += line + "\n";
  }
  INFO(result.rows_compared << " rollup rows compared; mismatches:\n" << report);
  CHECK(result.mismatches.empty());
  pqxx::work tx(conn);
  CHECK(tx.exec1("SELECT count(*) FROM events")[0].as<std::size_t>() == data.events.size());
}

}  // namespace

TEST_CASE("workers SIGKILLed at random points 20 times lose nothing and count nothing twice") {
  const auto seed = test_seed();
  INFO("PLUMB_TEST_SEED=" << seed);
  scoped_database db;
  const std::string prefix = unique_name("kill:") + ":";
  const std::map<std::string, std::string> env{
      {"PLUMB_PG_DSN", db.dsn()}, {"PLUMB_REDIS_URL", redis_url()},
      {"PLUMB_REDIS_PREFIX", prefix}, {"PLUMB_LOG_LEVEL", "error"}};
  const auto site = prepare(env, db.dsn());
  const auto data = traffic(site, 30'000, seed);
  const events::keys keys(prefix);

  std::vector<std::unique_ptr<process>> workers;
  int started = 0;
  auto start_worker = [&] {
    return std::make_unique<process>(service_binary("worker"), std::vector<std::string>{},
                                     worker_env(env, "kill-" + std::to_string(started++)));
  };
  for (int i = 0; i < 3; ++i) {
    workers.push_back(start_worker());
  }
  // Events arrive in 20 slices while workers die: every kill lands mid-stream, at a random
  // moment of some worker's read-enrich-visit-commit-ack cycle.
  std::mt19937_64 random(seed);
  constexpr std::size_t kills = 20;
  const std::size_t slice = data.events.size() / kills + 1;
  for (std::size_t k = 0; k < kills; ++k) {
    const auto first = data.events.begin() + static_cast<std::ptrdiff_t>(std::min(data.events.size(), k * slice));
    const auto last = data.events.begin() + static_cast<std::ptrdiff_t>(std::min(data.events.size(), (k + 1) * slice));
    e2e::push_events(redis_url(), keys, std::vector<events::event>(first, last));
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + random() % 400));
    auto& victim = workers[random() % workers.size()];
    victim->stop(SIGKILL);
    victim = start_worker();
  }
  pqxx::connection conn(db.dsn());
  const bool drained = e2e::wait_until_stored(conn, redis_url(), keys, static_cast<std::int64_t>(data.events.size()),
                                              std::chrono::seconds(300));
  INFO("worker log:\n" << workers[0]->output());
  REQUIRE(drained);
  check_truth(conn, data, site);
}

TEST_CASE("PostgreSQL stopped mid-stream: workers wait, then store everything exactly once") {
  const auto seed = test_seed();
  INFO("PLUMB_TEST_SEED=" << seed);
  pg_server pg;
  const std::string prefix = unique_name("pgdown:") + ":";
  const std::map<std::string, std::string> env{
      {"PLUMB_PG_DSN", pg.dsn()}, {"PLUMB_REDIS_URL", redis_url()},
      {"PLUMB_REDIS_PREFIX", prefix}, {"PLUMB_LOG_LEVEL", "error"}};
  const auto site = prepare(env, pg.dsn());
  const auto data = traffic(site, 20'000, seed);
  const events::keys keys(prefix);
  const auto half = data.events.begin() + static_cast<std::ptrdiff_t>(data.events.size() / 2);

  process a(service_binary("worker"), {}, worker_env(env, "pgdown-a"));
  process b(service_binary("worker"), {}, worker_env(env, "pgdown-b"));
  e2e::push_events(redis_url(), keys, std::vector<events::event>(data.events.begin(), half));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // mid-drain
  pg.stop();
  e2e::push_events(redis_url(), keys, std::vector<events::event>(half, data.events.end()));
  std::this_thread::sleep_for(std::chrono::seconds(pg_outage_seconds()));
  pg.start();

  pqxx::connection conn(pg.dsn());
  const bool drained = e2e::wait_until_stored(conn, redis_url(), keys, static_cast<std::int64_t>(data.events.size()),
                                              std::chrono::seconds(300));
  INFO("worker log:\n" << a.output());
  REQUIRE(drained);
  check_truth(conn, data, site);
}
