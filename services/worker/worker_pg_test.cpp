// The worker against real PostgreSQL and Redis: poison events, crashed peers, redelivery.
#include <catch2/catch.hpp>
#include <thread>

#include "plumb/queue/stream.hpp"
#include "plumb/storage/migrations.hpp"
#include "plumb/storage/tenants.hpp"
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
  std::int64_t site_id = 0;

  fixture() {
    pqxx::connection conn(db.dsn());
    storage::migrate(conn);
    {
      pqxx::work tx(conn);
      const auto owner = storage::create_account(tx, "owner@worker.example", "a long password");
      site_id = storage::create_site(tx, owner.id, "worker.example", "UTC").id;
      tx.commit();
    }
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
    for (const auto& key : redis.command({"KEYS", k.prefix() + "*"}).elements) {
      redis.command({"DEL", key.str});
    }
  }

  events::event make_event(std::string props = {}) {
    events::event e;
    e.received_ms = next_ms++;
    e.id = core::event_id::generate(core::from_unix_ms(e.received_ms));
    e.site_id = site_id;
    e.name = "pageview";
    e.url = "https://worker.example/";
    e.visitor_hash = 1;
    e.props_json = std::move(props);
    e.user_agent = firefox;
    return e;
  }

  std::string event(std::string props = {}) {
    return queue::serialize(make_event(std::move(props)));
  }

  // Onto the ingest stream: an entry per event, or packed as collectors pack them, up to
  // queue::max_events_per_entry events an entry.
  void append(std::span<const std::string> records, bool packed) {
    if (!packed) {
      queue::append(redis, cfg.common.keys, records);
      return;
    }
    const queue::xadd_encoder xadd(cfg.common.keys.events_stream());
    for (std::size_t first = 0; first < records.size(); first += queue::max_events_per_entry) {
      std::string protocol;
      REQUIRE(xadd.encode_entry(
          protocol,
          records.subspan(first, std::min(queue::max_events_per_entry, records.size() - first))));
      REQUIRE_FALSE(redis.pipeline_formatted(protocol, 1).at(0).is_error());
    }
  }

  long long stored() {
    pqxx::connection conn(db.dsn());
    pqxx::work tx(conn);
    return tx.exec_params1("SELECT count(*) FROM events WHERE site_id = $1", site_id)[0]
        .as<long long>();
  }

  // The rollup counter `column` summed over the rows of one dimension value.
  long long rollup(events::dimension d, const std::string& value, const char* column) {
    pqxx::connection conn(db.dsn());
    pqxx::work tx(conn);
    return tx
        .exec_params1(std::string("SELECT coalesce(sum(r.") + column +
                          "), 0) FROM rollups r"
                          " JOIN dimension_values v ON v.site_id = r.site_id AND v.id = r.value_id"
                          " WHERE r.site_id = $1 AND r.dimension = $2 AND v.value = $3",
                      site_id, static_cast<int>(d), value)[0]
        .as<long long>();
  }

  static constexpr const char* firefox =
      "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";

  long long pending() {
    const auto summary =
        redis.command({"XPENDING", cfg.common.keys.events_stream(), events::keys::worker_group});
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
  const bool packed = GENERATE(false, true);
  INFO("events packed in entries: " << packed);
  fixture f;
  std::vector<std::string> records;
  for (int i = 0; i < 20; ++i) {
    records.push_back(f.event(i == 13 ? "{not json" : R"({"k":"v"})"));
  }
  f.append(records, packed);
  worker::worker w(f.cfg, f.log, f.registry);
  f.drain(w);
  CHECK(f.stored() == 19);
  CHECK(f.pending() == 0);
  const auto dead = queue::list_dead_letters(f.redis, f.cfg.common.keys, 10);
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].error.find("rejected by PostgreSQL") != std::string::npos);
  CHECK(f.registry.render().find(R"(plumb_worker_events_total{outcome="dead_lettered"} 1)") !=
        std::string::npos);
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
  CHECK(f.registry.render().find(R"(plumb_worker_events_total{outcome="duplicate"} 5)") !=
        std::string::npos);
}

TEST_CASE("events are enriched, bots and spam are tallied, and visits roll up") {
  fixture f;
  std::vector<std::string> records;
  // One visit from Google: landing, a second page 40 s later, then a signup 20 s after that.
  auto landing = f.make_event();
  landing.url = "https://worker.example/pricing?utm_campaign=spring&secret=1";
  landing.referrer = "https://www.google.com/search?q=plumb";
  landing.screen_width = 1280;
  landing.country = "DE";
  landing.region = "DE-BY";
  landing.city = "Munich";
  auto second = f.make_event();
  // Processed first, but the visit's location stays its first event's.
  second.country = "AT";
  second.region = "AT-9";
  second.city = "Vienna";
  second.received_ms = landing.received_ms + 40'000;
  second.id = core::event_id::generate(core::from_unix_ms(second.received_ms));
  second.url = "https://worker.example/docs";
  second.referrer = "https://worker.example/pricing";
  auto signup = f.make_event(R"({"plan":"pro"})");
  signup.received_ms = second.received_ms + 20'000;
  signup.id = core::event_id::generate(core::from_unix_ms(signup.received_ms));
  signup.name = "Signup";
  signup.url = "https://worker.example/docs";
  signup.revenue = events::revenue{"EUR", "12.50"};
  // Processed out of order: the visit must still start at the landing page.
  records.push_back(queue::serialize(second));
  records.push_back(queue::serialize(signup));
  records.push_back(queue::serialize(landing));
  auto bot = f.make_event();
  bot.user_agent = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
  bot.visitor_hash = 2;
  auto spam = f.make_event();
  spam.referrer = "https://semalt.com/";
  spam.visitor_hash = 3;
  records.push_back(queue::serialize(bot));
  records.push_back(queue::serialize(spam));
  queue::append(f.redis, f.cfg.common.keys, records);
  worker::worker w(f.cfg, f.log, f.registry);
  f.drain(w);

  CHECK(f.stored() == 3);
  using events::dimension;
  CHECK(f.rollup(dimension::dropped, "bot", "events") == 1);
  CHECK(f.rollup(dimension::dropped, "referrer_spam", "events") == 1);
  CHECK(f.rollup(dimension::total, "", "pageviews") == 2);
  CHECK(f.rollup(dimension::total, "", "events") == 1);
  CHECK(f.rollup(dimension::total, "", "visits") == 1);
  CHECK(f.rollup(dimension::total, "", "bounces") == 0);
  CHECK(f.rollup(dimension::total, "", "duration_ms") == 60'000);
  CHECK(f.rollup(dimension::source, "Google", "visits") == 1);
  CHECK(f.rollup(dimension::source, "Google", "pageviews") == 2);
  CHECK(f.rollup(dimension::source, "Direct / None", "visits") == 0);
  CHECK(f.rollup(dimension::channel, "search", "visits") == 1);
  CHECK(f.rollup(dimension::utm_campaign, "spring", "visits") == 1);
  CHECK(f.rollup(dimension::entry_page, "/pricing", "visits") == 1);
  CHECK(f.rollup(dimension::entry_page, "/docs", "visits") == 0);
  CHECK(f.rollup(dimension::exit_page, "/docs", "visits") == 1);
  CHECK(f.rollup(dimension::page, "/docs", "pageviews") == 1);
  CHECK(f.rollup(dimension::page, "/docs", "events") == 1);
  CHECK(f.rollup(dimension::event, "Signup", "events") == 1);
  CHECK(f.rollup(dimension::prop, "plan\x1fpro", "events") == 1);
  CHECK(f.rollup(dimension::revenue,
                 "Signup\x1f"
                 "EUR",
                 "events") == 1);
  CHECK(f.rollup(dimension::browser, "Firefox", "visits") == 1);
  CHECK(f.rollup(dimension::os, "Linux", "visits") == 1);
  CHECK(f.rollup(dimension::device, "desktop", "visits") == 1);
  CHECK(f.rollup(dimension::screen, "laptop", "visits") == 1);
  CHECK(f.rollup(dimension::country, "DE", "visits") == 1);
  CHECK(f.rollup(dimension::country, "AT", "visits") == 0);
  CHECK(f.rollup(dimension::region, "DE-BY", "visits") == 1);
  CHECK(f.rollup(dimension::region, "DE-BY", "pageviews") == 2);
  CHECK(f.rollup(dimension::region, "AT-9", "visits") == 0);
  CHECK(f.rollup(dimension::city, "Munich, DE-BY", "visits") == 1);
  CHECK(f.rollup(dimension::city, "Vienna, AT-9", "visits") == 0);
  // The query string never reaches storage.
  pqxx::connection conn(f.db.dsn());
  pqxx::work tx(conn);
  CHECK(tx.exec_params1(
              "SELECT count(*) FROM dimension_values WHERE site_id = $1 AND value LIKE '%secret%'",
              f.site_id)[0]
            .as<int>() == 0);
  CHECK(tx.exec_params1(
              "SELECT sum(revenue)::text FROM rollups WHERE site_id = $1 AND dimension = $2",
              f.site_id, static_cast<int>(dimension::revenue))[0]
            .as<std::string>() == "12.500000");
  CHECK(tx.exec_params1("SELECT count(DISTINCT visit_id) FROM events WHERE site_id = $1",
                        f.site_id)[0]
            .as<int>() == 1);
  // Each raw event keeps its own location (filters read the visit's, from its opening event).
  const auto located = tx.exec_params(
      "SELECT r.value, c.value FROM events e"
      " JOIN dimension_values r ON r.site_id = e.site_id AND r.id = e.region_id"
      " JOIN dimension_values c ON c.site_id = e.site_id AND c.id = e.city_id"
      " WHERE e.site_id = $1 ORDER BY e.received_at",
      f.site_id);
  REQUIRE(located.size() == 3);
  CHECK(located[0][0].as<std::string>() == "DE-BY");
  CHECK(located[0][1].as<std::string>() == "Munich, DE-BY");
  CHECK(located[1][1].as<std::string>() == "Vienna, AT-9");
}

TEST_CASE(
    "a flooding site's backlog is deferred so other sites' events go first, and all land once") {
  // Packed, the quiet site's events share an entry with the flood's last ones: the entry is
  // acknowledged only when the deferred ones are in the deferred stream and the rest stored.
  const bool packed = GENERATE(false, true);
  INFO("events packed in entries: " << packed);
  fixture f;
  f.cfg.batch_size = 100;
  f.cfg.site_share_percent = 10;
  std::int64_t other_site = 0;
  {
    pqxx::connection conn(f.db.dsn());
    pqxx::work tx(conn);
    other_site = storage::create_site(tx, storage::find_account(tx, "owner@worker.example")->id,
                                      "quiet.example", "UTC")
                     .id;
    tx.commit();
  }
  // 500 events of the flooding site, then 10 of a quiet one, all already waiting.
  std::vector<std::string> records;
  for (int i = 0; i < 500; ++i) {
    auto e = f.make_event();
    e.visitor_hash = static_cast<std::uint64_t>(i % 50 + 1);
    records.push_back(queue::serialize(e));
  }
  for (int i = 0; i < 10; ++i) {
    auto e = f.make_event();
    e.site_id = other_site;
    e.url = "https://quiet.example/";
    records.push_back(queue::serialize(e));
  }
  f.append(records, packed);
  worker::worker w(f.cfg, f.log, f.registry);
  w.process_once();  // drains nothing pending (fresh consumer)

  auto stored_for = [&](std::int64_t site) {
    pqxx::connection conn(f.db.dsn());
    pqxx::work tx(conn);
    return tx.exec_params1("SELECT count(*) FROM events WHERE site_id = $1", site)[0]
        .as<long long>();
  };
  // Rounds until the quiet site's events are stored: by then most of the flood still waits.
  int rounds = 0;
  while (stored_for(other_site) < 10 && rounds < 20) {
    w.process_once();
    ++rounds;
  }
  CHECK(stored_for(other_site) == 10);
  CHECK(rounds <= 6);
  CHECK(stored_for(f.site_id) < 250);
  CHECK(f.registry.render().find("plumb_worker_deferred_total") != std::string::npos);

  // The deferred events are processed with the spare capacity, each exactly once.
  f.drain(w);
  f.drain(w);
  CHECK(stored_for(f.site_id) == 500);
  CHECK(f.rollup(events::dimension::total, "", "pageviews") == 500);
  CHECK(f.pending() == 0);
}

TEST_CASE("with writers capped, a worker waits for a free database write slot") {
  fixture f;
  f.cfg.max_db_writers = 1;
  f.cfg.statement_timeout = std::chrono::milliseconds(200);  // also how long it waits for a slot
  queue::append(f.redis, f.cfg.common.keys, std::vector<std::string>{f.event(), f.event()});
  queue::write_slots others(f.redis, f.cfg.common.keys, 1, std::chrono::seconds(30));
  REQUIRE(others.acquire("another-worker", std::chrono::milliseconds(0)));

  worker::worker w(f.cfg, f.log, f.registry);
  int rounds = 0;
  w.run([&rounds] { return ++rounds > 3; });
  CHECK(f.stored() == 0);
  CHECK_THAT(w.last_error(), Catch::Contains("write slot"));
  others.release("another-worker");
  rounds = 0;
  w.run([&rounds] { return ++rounds > 3; });  // re-reads what failed, as after any failure
  CHECK(f.stored() == 2);
  CHECK(f.pending() == 0);
}
