// The worker against real PostgreSQL and Redis: poison events, crashed peers, redelivery.
#include <catch2/catch.hpp>
#include <thread>

#include "plumb/queue/stream.hpp"
#include "plumb/storage/migrations.hpp"
#include "plumb/test_support/environment.hpp"
#include "worker.hpp"

using namespace plumb;

namespace {

struct fixture {
  test_support::scoped_database db;
  worker::worker_config cfg;
  log::logger log{"worker-test", log::level::error};
  metrics::registry registry;
  redis::connection redis{*redis::endpoint::parse_url(test_support::redis_url())};
  std::int64_t next_ms = 1'763'700'000'000;

  fixture() {
    pqxx::connection conn(db.dsn());
    storage::migrate(conn);
    cfg.common.redis = *redis::endpoint::parse_url(test_support::redis_url());
    cfg.common.keys = events::keys(test_support::unique_name("t:") + ":");
    cfg.pg_dsn = db.dsn();
    cfg.consumer_name = "worker-under-test";
    cfg.batch_size = 100;
    cfg.batch_wait = std::chrono::milliseconds(50);
    cfg.claim_idle = std::chrono::hours(1);
  }
  ~fixture() {
    const auto& k = cfg.common.keys;
    redis.command({"DEL", k.events_stream(), k.dead_letter_stream()});
  }

  std::string event(std::string props = {}) {
    events::event e;
    e.received_ms = next_ms++;
    e.id = core::event_id::generate(core::from_unix_ms(e.received_ms));
    e.site_id = 9;
    e.name = "pageview";
    e.url = "https://worker.example/";
    e.visitor_hash = 1;
    e.props_json = std::move(props);
    return queue::serialize(e);
  }

  long long stored() {
    pqxx::connection conn(db.dsn());
    pqxx::work tx(conn);
    return tx.exec1("SELECT count(*) FROM events WHERE site_id = 9")[0].as<long long>();
  }

  long long pending() {
    const auto summary = redis.command({"XPENDING", cfg.common.keys.events_stream(), events::keys::worker_group});
    return summary.elements.at(0).integer;
  }

  void drain(worker::worker& w) {
    for (int i = 0; i < 10; ++i) {
      w.process_once();
    }
  }
};

}  // namespace

TEST_CASE("a poison event is dead-lettered and the rest of its batch is stored") {
  fixture f;
  std::vector<std::string> records;
  for (int i = 0; i < 20; ++i) {
    records.push_back(f.event(i == 13 ? "{not json" : R"({"k":"v"})"));
  }
  queue::append(f.redis, f.cfg.common.keys, records);
  worker::worker w(f.cfg, f.log, f.registry);
  f.drain(w);
  CHECK(f.stored() == 19);
  CHECK(f.pending() == 0);
  const auto dead = queue::list_dead_letters(f.redis, f.cfg.common.keys, 10);
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].error.find("rejected by PostgreSQL") != std::string::npos);
  CHECK(f.registry.render().find(R"(plumb_worker_events_total{outcome="dead_lettered"} 1)") != std::string::npos);
}

TEST_CASE("entries a crashed worker left pending are taken over and stored once") {
  fixture f;
  std::vector<std::string> records;
  for (int i = 0; i < 5; ++i) {
    records.push_back(f.event());
  }
  queue::consumer crashed(f.redis, f.cfg.common.keys, "crashed");
  crashed.ensure_group();
  queue::append(f.redis, f.cfg.common.keys, records);
  REQUIRE(crashed.read_new(10, std::chrono::milliseconds(100)).size() == 5);

  f.cfg.claim_idle = std::chrono::milliseconds(20);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  worker::worker rescuer(f.cfg, f.log, f.registry);
  f.drain(rescuer);
  CHECK(f.stored() == 5);
  CHECK(f.pending() == 0);

  // The same entries delivered again (as after a crash between COMMIT and XACK) add nothing.
  queue::append(f.redis, f.cfg.common.keys, records);
  f.drain(rescuer);
  CHECK(f.stored() == 5);
  CHECK(f.registry.render().find(R"(plumb_worker_events_total{outcome="duplicate"} 5)") != std::string::npos);
}
