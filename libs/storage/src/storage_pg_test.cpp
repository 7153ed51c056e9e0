#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "plumb/storage/event_writer.hpp"
#include "plumb/storage/migrations.hpp"
#include "plumb/storage/stats.hpp"
#include "plumb/storage/tenants.hpp"
#include "plumb/test_support/environment.hpp"

using namespace plumb;

namespace {

events::event pageview(std::int64_t site_id, std::int64_t received_ms, std::uint64_t visitor) {
  events::event e;
  e.received_ms = received_ms;
  e.id = core::event_id::generate(core::from_unix_ms(received_ms));
  e.site_id = site_id;
  e.name = "pageview";
  e.url = "https://example.com/";
  e.visitor_hash = visitor;
  return e;
}

std::int64_t count_events(pqxx::connection& conn, std::int64_t site_id) {
  pqxx::work tx(conn);
  return tx.exec_params1("SELECT count(*) FROM events WHERE site_id = $1", site_id)[0].as<std::int64_t>();
}

}  // namespace

TEST_CASE("migrations apply once and record their version") {
  test_support::scoped_database db;
  pqxx::connection conn(db.dsn());
  const auto first = storage::migrate(conn);
  CHECK(first.applied.size() == static_cast<std::size_t>(storage::latest_migration_version()));
  CHECK(first.current_version == storage::latest_migration_version());
  const auto second = storage::migrate(conn);
  CHECK(second.applied.empty());
  CHECK(second.current_version == first.current_version);
  pqxx::work tx(conn);
  CHECK(tx.exec1("SELECT count(*) FROM schema_migrations")[0].as<int>() == first.current_version);
}

TEST_CASE("accounts, sites and API keys validate input and refuse duplicates") {
  test_support::scoped_database db;
  pqxx::connection conn(db.dsn());
  storage::migrate(conn);
  pqxx::work tx(conn);
  const auto owner = storage::create_account(tx, "Owner@Example.com", "a long password");
  CHECK(owner.email == "owner@example.com");
  CHECK_THROWS_AS(storage::create_account(tx, "not-an-email", "a long password"), storage::invalid_input);
  CHECK_THROWS_AS(storage::create_account(tx, "x@example.com", "short"), storage::invalid_input);

  const auto site = storage::create_site(tx, owner.id, "https://www.Example.com/", "Europe/Berlin");
  CHECK(site.domain == "example.com");
  CHECK(storage::find_site(tx, "www.example.com")->id == site.id);
  CHECK_THROWS_AS(storage::create_site(tx, owner.id, "example.com", "Mars/Olympus"), storage::invalid_input);
  CHECK_THROWS_AS(storage::create_site(tx, owner.id, "bad domain", "UTC"), storage::invalid_input);

  const auto key = storage::create_api_key(tx, owner.id, storage::api_scope::stats_read);
  const auto found = storage::find_api_key(tx, key);
  REQUIRE(found);
  CHECK(found->account_id == owner.id);
  CHECK_FALSE(storage::find_api_key(tx, key + "x"));
  tx.commit();

  pqxx::work dup(conn);
  CHECK_THROWS_AS(storage::create_account(dup, "owner@example.com", "a long password"), storage::already_exists);
}

TEST_CASE("the event writer stores each event once, across partitions and redeliveries") {
  test_support::scoped_database db;
  pqxx::connection conn(db.dsn());
  storage::migrate(conn);
  // 2023-11-30T23:59:59.999Z and 2023-12-01T00:00:00.000Z: two monthly partitions.
  std::vector<events::event> batch{pageview(1, 1'701'388'799'999, 1), pageview(1, 1'701'388'800'000, 2),
                                   pageview(2, 1'701'388'800'000, 3)};
  storage::event_writer writer;
  CHECK(writer.write(conn, batch) == 3);
  CHECK(count_events(conn, 1) == 2);

  // Redelivery of the whole batch plus one new event: only the new one lands.
  batch.push_back(pageview(1, 1'701'388'800'001, 4));
  storage::event_writer other_worker;  // knows no partitions yet: must cope with existing ones
  CHECK(other_worker.write(conn, batch) == 1);
  CHECK(count_events(conn, 1) == 3);
  CHECK(count_events(conn, 2) == 1);

  pqxx::work tx(conn);
  CHECK(tx.exec1("SELECT count(*) FROM pg_inherits WHERE inhparent = 'events'::regclass")[0].as<int>() == 2);
}

TEST_CASE("aggregates count local days in the site's timezone") {
  test_support::scoped_database db;
  pqxx::connection conn(db.dsn());
  storage::migrate(conn);
  // 2023-11-30T20:00Z is already 2023-12-01 01:30 in Asia/Kolkata (+05:30).
  std::vector<events::event> batch{pageview(5, 1'701'374'400'000, 1), pageview(5, 1'701'374'400'001, 1),
                                   pageview(5, 1'701'302'400'000, 2)};  // 2023-11-30T00:00Z
  auto custom = pageview(5, 1'701'374'400'002, 1);
  custom.name = "Signup";
  batch.push_back(custom);
  storage::event_writer writer;
  writer.write(conn, batch);

  pqxx::work tx(conn);
  const std::vector metrics{storage::aggregate_metric::pageviews, storage::aggregate_metric::events,
                            storage::aggregate_metric::visitors};
  const auto dec1 = storage::aggregate(tx, 5, "Asia/Kolkata", {"2023-12-01", "2023-12-01"}, metrics);
  CHECK(dec1.at(storage::aggregate_metric::pageviews) == 2);
  CHECK(dec1.at(storage::aggregate_metric::events) == 1);
  CHECK(dec1.at(storage::aggregate_metric::visitors) == 1);
  const auto utc = storage::aggregate(tx, 5, "UTC", {"2023-11-30", "2023-11-30"}, metrics);
  CHECK(utc.at(storage::aggregate_metric::pageviews) == 3);
  const auto both = storage::aggregate(tx, 5, "Asia/Kolkata", {"2023-11-30", "2023-12-01"}, metrics);
  CHECK(both.at(storage::aggregate_metric::visitors) == 2);
  CHECK(storage::local_date(tx, "Asia/Kolkata", core::from_unix_ms(1'701'374'400'000)) == "2023-12-01");
  CHECK(storage::aggregate(tx, 6, "UTC", {"2023-11-30", "2023-12-01"}, metrics)
            .at(storage::aggregate_metric::pageviews) == 0);
}
