#include <catch2/catch.hpp>
#include <pqxx/pqxx>
#include <string>

#include "plumb/storage/event_writer.hpp"
#include "plumb/storage/migrations.hpp"
#include "plumb/storage/rollup_settling.hpp"
#include "plumb/storage/tenants.hpp"
#include "plumb/test_support/environment.hpp"
#include "storage_test_helpers.hpp"

using namespace plumb;
using storage::testing::make_sites;
using storage::testing::pageview;

namespace {

std::int64_t count_events(pqxx::connection& conn, std::int64_t site_id) {
  pqxx::work tx(conn);
  return tx.exec_params1("SELECT count(*) FROM events WHERE site_id = $1", site_id)[0]
      .as<std::int64_t>();
}

std::int64_t rollup_sum(pqxx::connection& conn, std::int64_t site_id, const char* column) {
  pqxx::work tx(conn);
  return tx
      .exec_params1(std::string("SELECT coalesce(sum(") + column +
                        "), 0) FROM rollups WHERE site_id = $1 AND dimension = 0",
                    site_id)[0]
      .as<std::int64_t>();
}

}  // namespace

TEST_CASE("migrations apply once and record their version") {
  test_support::scoped_database db;
  pqxx::connection conn(db.dsn());
  const auto first = storage::migrate(conn);
  // Numbers may have gaps (a change reserves its number before the one below it is merged).
  REQUIRE_FALSE(first.applied.empty());
  CHECK(std::stoi(first.applied.back()) == storage::latest_migration_version());
  CHECK(first.current_version == storage::latest_migration_version());
  const auto second = storage::migrate(conn);
  CHECK(second.applied.empty());
  CHECK(second.current_version == first.current_version);
  pqxx::work tx(conn);
  CHECK(tx.exec1("SELECT count(*) FROM schema_migrations")[0].as<std::size_t>() ==
        first.applied.size());
}

TEST_CASE("accounts, sites and API keys validate input and refuse duplicates") {
  test_support::scoped_database db;
  pqxx::connection conn(db.dsn());
  storage::migrate(conn);
  pqxx::work tx(conn);
  const auto owner = storage::create_account(tx, "Owner@Example.com", "a long password");
  CHECK(owner.email == "owner@example.com");
  CHECK_THROWS_AS(storage::create_account(tx, "not-an-email", "a long password"),
                  storage::invalid_input);
  CHECK_THROWS_AS(storage::create_account(tx, "x@example.com", "short"), storage::invalid_input);

  const auto site = storage::create_site(tx, owner.id, "https://www.Example.com/", "Europe/Berlin");
  CHECK(site.domain == "example.com");
  CHECK(storage::find_site(tx, "www.example.com")->id == site.id);
  CHECK_THROWS_AS(storage::create_site(tx, owner.id, "example.com", "Mars/Olympus"),
                  storage::invalid_input);
  CHECK_THROWS_AS(storage::create_site(tx, owner.id, "bad domain", "UTC"), storage::invalid_input);

  const auto key = storage::create_api_key(tx, owner.id, storage::api_scope::stats_read);
  const auto found = storage::find_api_key(tx, key);
  REQUIRE(found);
  CHECK(found->account_id == owner.id);
  CHECK_FALSE(storage::find_api_key(tx, key + "x"));
  tx.commit();

  pqxx::work dup(conn);
  CHECK_THROWS_AS(storage::create_account(dup, "owner@example.com", "a long password"),
                  storage::already_exists);
}

TEST_CASE("the event writer stores each event once, across partitions and redeliveries") {
  test_support::scoped_database db;
  pqxx::connection conn(db.dsn());
  storage::migrate(conn);
  const auto sites = make_sites(conn, {"UTC", "UTC"});
  // 2023-11-30T23:59:59.999Z and 2023-12-01T00:00:00.000Z: two monthly partitions.
  std::vector<storage::stored_event> batch{pageview(sites[0], 1'701'388'799'999, 1),
                                           pageview(sites[0], 1'701'388'800'000, 2),
                                           pageview(sites[1], 1'701'388'800'000, 3)};
  storage::event_writer writer;
  CHECK(writer.write(conn, batch).inserted == 3);
  CHECK(count_events(conn, sites[0]) == 2);
  CHECK(rollup_sum(conn, sites[0], "pageviews") == 2);

  // Redelivery of the whole batch plus one new event: only the new one lands, and only its
  // deltas reach the rollups.
  batch.push_back(pageview(sites[0], 1'701'388'800'001, 4));
  storage::event_writer other_worker;  // knows no partitions yet: must cope with existing ones
  const auto again = other_worker.write(conn, batch);
  CHECK(again.inserted == 1);
  CHECK(again.duplicates == 3);
  CHECK(count_events(conn, sites[0]) == 3);
  CHECK(count_events(conn, sites[1]) == 1);
  CHECK(rollup_sum(conn, sites[0], "pageviews") == 3);

  pqxx::work tx(conn);
  CHECK(tx.exec1("SELECT count(*) FROM pg_inherits WHERE inhparent = 'events'::regclass")[0]
            .as<int>() == 2);
  // Dimension values are numbered per site.
  CHECK(tx.exec_params1("SELECT count(*) FROM dimension_values WHERE value = '/' AND site_id = "
                        "ANY($1::bigint[])",
                        "{" + std::to_string(sites[0]) + "," + std::to_string(sites[1]) + "}")[0]
            .as<int>() == 2);
}

TEST_CASE("dropped events are tallied once and never stored as events") {
  test_support::scoped_database db;
  pqxx::connection conn(db.dsn());
  storage::migrate(conn);
  const auto site = make_sites(conn, {"UTC"})[0];
  storage::stored_event bot;
  bot.id = core::event_id::generate(core::from_unix_ms(1'701'388'800'000));
  bot.site_id = site;
  bot.dropped = true;
  storage::rollup_delta tally;
  tally.dimension = events::dimension::dropped;
  tally.value = "bot";
  tally.at_ms = 1'701'388'800'000;
  tally.events = 1;
  bot.deltas.push_back(tally);
  const std::vector batch{bot};
  storage::event_writer writer;
  CHECK(writer.write(conn, batch).inserted == 1);
  CHECK(writer.write(conn, batch).duplicates == 1);
  CHECK(count_events(conn, site) == 0);
  pqxx::work tx(conn);
  CHECK(tx.exec_params1("SELECT sum(r.events) FROM rollups r JOIN dimension_values v"
                        " ON v.site_id = r.site_id AND v.id = r.value_id"
                        " WHERE r.site_id = $1 AND r.dimension = $2 AND v.value = 'bot'",
                        site, static_cast<int>(events::dimension::dropped))[0]
            .as<int>() == 1);
}

TEST_CASE("revenue amounts convert to millionths exactly") {
  CHECK(storage::parse_micros("12.5") == storage::micros{12'500'000});
  CHECK(storage::parse_micros("-3") == storage::micros{-3'000'000});
  CHECK(storage::parse_micros("0.0000005") == storage::micros{1});  // half rounds away from zero
  CHECK(storage::parse_micros("0.0000004") == storage::micros{0});
  CHECK(storage::parse_micros("999999999999999999") ==
        storage::micros{999'999'999'999'999'999} * 1'000'000);
  CHECK_FALSE(storage::parse_micros("1e5"));
  CHECK_FALSE(storage::parse_micros(""));
  CHECK_FALSE(storage::parse_micros("."));
  CHECK(storage::format_micros(12'500'000) == "12.500000");
  CHECK(storage::format_micros(-1) == "-0.000001");
  CHECK(storage::format_micros(0) == "0.000000");
}

TEST_CASE("rollup buckets follow the site's DST changes") {
  test_support::scoped_database db;
  pqxx::connection conn(db.dsn());
  storage::migrate(conn);
  const auto site = make_sites(conn, {"America/New_York"})[0];
  // 2026-03-08: clocks jump from 02:00 EST to 03:00 EDT (07:00Z). 2026-11-01: from 02:00 EDT
  // back to 01:00 EST (06:00Z), so 01:30 happens twice.
  const std::vector<storage::stored_event> batch{
      pageview(site, 1'772'951'400'000, 1),   // 2026-03-08T06:30Z = 01:30 EST
      pageview(site, 1'772'955'000'000, 2),   // 2026-03-08T07:30Z = 03:30 EDT
      pageview(site, 1'793'511'000'000, 3),   // 2026-11-01T05:30Z = 01:30 EDT
      pageview(site, 1'793'514'600'000, 4)};  // 2026-11-01T06:30Z = 01:30 EST
  storage::event_writer writer;
  writer.write(conn, batch);
  pqxx::work tx(conn);
  const auto buckets = [&](events::dimension d) {
    std::vector<std::string> out;
    for (const auto& r : tx.exec_params("SELECT bucket::text || ' ' || pageviews FROM rollups"
                                        " WHERE site_id = $1 AND dimension = $2 ORDER BY bucket",
                                        site, static_cast<int>(d))) {
      out.push_back(r[0].as<std::string>());
    }
    return out;
  };
  CHECK(buckets(events::dimension::total_hourly) ==
        std::vector<std::string>{"2026-03-08 01:00:00 1", "2026-03-08 03:00:00 1",
                                 "2026-11-01 01:00:00 2"});
  CHECK(buckets(events::dimension::total) ==
        std::vector<std::string>{"2026-03-08 00:00:00 2", "2026-11-01 00:00:00 2"});
}

TEST_CASE("settling moves past days' rollup rows, and late events of a settled day still add up") {
  test_support::scoped_database db;
  pqxx::connection conn(db.dsn());
  storage::migrate(conn);
  const auto site = make_sites(conn, {"UTC"})[0];
  constexpr std::int64_t day_ms = 86'400'000;
  constexpr std::int64_t march_1 = 1'772'323'200'000;  // 2026-03-01T00:00Z
  storage::event_writer writer;
  writer.write(conn,
               std::vector{pageview(site, march_1 + 1'000, 1), pageview(site, march_1 + 2'000, 2),
                           pageview(site, march_1 + 5 * day_ms, 3)});
  // Pageviews on the site's total rows of one table.
  const auto pageviews = [&](const char* table) {
    pqxx::work tx(conn);
    return tx
        .exec_params1(std::string("SELECT coalesce(sum(pageviews), 0) FROM ") + table +
                          " WHERE site_id = $1 AND dimension = 0",
                      site)[0]
        .as<std::int64_t>();
  };
  const auto visitors_on = [&](std::int64_t day) {
    pqxx::work tx(conn);
    return tx
        .exec_params1(
            "SELECT round(hll_cardinality(hll_union_agg(visitors)))::bigint FROM"
            " (SELECT visitors FROM rollups WHERE site_id = $1 AND dimension = 0 AND bucket = $2"
            "  UNION ALL SELECT visitors FROM rollups_settled WHERE site_id = $1 AND dimension = 0"
            "  AND bucket = $2) r",
            site, core::format_utc(day))[0]
        .as<std::int64_t>();
  };
  // Now = 2026-03-04: 1 March (two days) is settled, its hours too; 6 March stays.
  const auto moved = storage::settle_rollups(conn, core::from_unix_ms(march_1 + 3 * day_ms));
  CHECK(moved == 2);  // the day row of 1 March and its hour row (00:00 holds both events)
  CHECK(pageviews("rollups_settled") == 2);
  CHECK(pageviews("rollups") == 1);
  // A late event of 1 March lands in rollups again; the next run merges it into the settled row.
  writer.write(conn, std::vector{pageview(site, march_1 + 3'000, 4)});
  CHECK(pageviews("rollups") == 2);
  CHECK(visitors_on(march_1) == 3);  // a report reads both tables: still right before merging
  CHECK(storage::settle_rollups(conn, core::from_unix_ms(march_1 + 3 * day_ms)) == 2);
  CHECK(pageviews("rollups_settled") == 3);
  CHECK(pageviews("rollups") == 1);
  CHECK(visitors_on(march_1) == 3);
  pqxx::work tx(conn);
  CHECK(tx.exec_params1("SELECT count(*) FROM rollups_settled WHERE site_id = $1 AND bucket = $2"
                        " AND dimension = 0",
                        site, core::format_utc(march_1))[0]
            .as<int>() == 1);  // merged, not duplicated
}

TEST_CASE("settling builds the visit rows of the days it settles, again after late events") {
  test_support::scoped_database db;
  pqxx::connection conn(db.dsn());
  storage::migrate(conn);
  const auto site = make_sites(conn, {"UTC"})[0];
  constexpr std::int64_t day_ms = 86'400'000;
  constexpr std::int64_t march_1 = 1'772'323'200'000;  // 2026-03-01T00:00Z
  const auto now = core::from_unix_ms(march_1 + 3 * day_ms);
  // Two visits of 1 March: a's two pageviews a minute apart, and b's one.
  auto a = pageview(site, march_1 + 1'000, 1);
  auto a_again = pageview(site, march_1 + 61'000, 1);
  a_again.visit_id = a.id;
  const auto b = pageview(site, march_1 + 2'000, 2);
  storage::event_writer writer;
  writer.write(conn, std::vector{a, a_again, b});
  // Per visit of a day, in start order: pageviews, bounce and duration.
  const auto visits_of = [&](const std::string& day) {
    pqxx::work tx(conn);
    std::vector<std::string> out;
    for (const auto& r :
         tx.exec_params("SELECT pageviews || ' ' || bounce || ' ' || duration_ms FROM visits"
                        " WHERE site_id = $1 AND day = $2::date ORDER BY visit_id",
                        site, day)) {
      out.push_back(r[0].as<std::string>());
    }
    return out;
  };
  const auto built_in = [&](const std::string& day) {
    pqxx::work tx(conn);
    const auto r = tx.exec_params("SELECT timezone FROM visit_days WHERE site_id = $1 AND day = $2",
                                  site, day);
    return r.empty() ? std::string() : r[0][0].as<std::string>();
  };
  CHECK(visits_of("2026-03-01").empty());  // not settled yet
  storage::settle_rollups(conn, now);
  CHECK(visits_of("2026-03-01") == std::vector<std::string>{"2 false 60000", "1 true 0"});
  CHECK(built_in("2026-03-01") == "UTC");

  // A late pageview of visit b: its day is unsettled again until the next run builds it anew.
  auto b_again = pageview(site, march_1 + 122'000, 2);
  b_again.visit_id = b.id;
  writer.write(conn, std::vector{b_again});
  CHECK(visits_of("2026-03-01") == std::vector<std::string>{"2 false 60000", "1 true 0"});
  storage::settle_rollups(conn, now);
  CHECK(visits_of("2026-03-01") == std::vector<std::string>{"2 false 60000", "2 false 120000"});

  // After a zone change, a day built again is cut in the new zone (both visits started on
  // 28 February in New York); the day built in UTC keeps its mark, which readers in New York
  // time do not take.
  {
    pqxx::work tx(conn);
    tx.exec_params("UPDATE sites SET timezone = 'America/New_York' WHERE id = $1", site);
    tx.commit();
  }
  auto late = pageview(site, march_1 + 3'000, 3);
  late.deltas.front().at_ms = march_1 + 3'000;
  writer.write(conn, std::vector{late});
  storage::settle_rollups(conn, now);
  CHECK(visits_of("2026-02-28") ==
        std::vector<std::string>{"2 false 60000", "2 false 120000", "1 true 0"});
  CHECK(built_in("2026-02-28") == "America/New_York");
  CHECK(built_in("2026-03-01") == "UTC");

  {
    pqxx::work tx(conn);
    storage::delete_site(tx, site);
    tx.commit();
  }
  pqxx::work tx(conn);
  CHECK(tx.exec1("SELECT (SELECT count(*) FROM visits) + (SELECT count(*) FROM visit_days)")[0]
            .as<int>() == 0);
}

TEST_CASE("value totals follow every change of the settled rows and site deletion removes them") {
  test_support::scoped_database db;
  pqxx::connection conn(db.dsn());
  storage::migrate(conn);
  const auto sites = make_sites(conn, {"UTC", "UTC"});
  constexpr std::int64_t day_ms = 86'400'000;
  constexpr std::int64_t march_1 = 1'772'323'200'000;  // 2026-03-01T00:00Z
  const auto now = core::from_unix_ms(march_1 + 4 * day_ms);
  storage::event_writer writer;
  writer.write(conn, std::vector{pageview(sites[0], march_1 + 1'000, 1),
                                 pageview(sites[0], march_1 + day_ms, 2),
                                 pageview(sites[0], march_1 + 3 * day_ms, 3),
                                 pageview(sites[1], march_1 + 1'000, 4)});
  // The site total's weight (pageviews + events) over all settled rows of a dimension.
  const auto total = [&](std::int64_t site, events::dimension d) {
    pqxx::work tx(conn);
    return tx
        .exec_params1(
            "SELECT coalesce(sum(weight), 0) FROM rollup_value_totals"
            " WHERE site_id = $1 AND dimension = $2",
            site, static_cast<int>(d))[0]
        .as<std::int64_t>();
  };
  // Values whose total is not the sum of their settled rows' weights.
  const auto mismatches = [&] {
    pqxx::work tx(conn);
    return tx
        .exec1(
            "SELECT count(*) FROM rollup_value_totals t FULL JOIN"
            " (SELECT site_id, dimension, value_id, sum(weight) AS weight"
            "  FROM rollups_settled GROUP BY 1, 2, 3) s USING (site_id, dimension, value_id)"
            " WHERE coalesce(t.weight, 0) <> coalesce(s.weight, 0)")[0]
        .as<int>();
  };
  storage::settle_rollups(conn, now);  // 1 and 2 March settle, 4 March stays
  CHECK(total(sites[0], events::dimension::total) == 2);
  CHECK(total(sites[0], events::dimension::total_hourly) == 2);
  CHECK(total(sites[1], events::dimension::total) == 1);
  // A late event of a settled day adds to the total when it is merged, not before.
  writer.write(conn, std::vector{pageview(sites[0], march_1 + 2'000, 5)});
  CHECK(total(sites[0], events::dimension::total) == 2);
  storage::settle_rollups(conn, now);
  CHECK(total(sites[0], events::dimension::total) == 3);
  CHECK(mismatches() == 0);
  {
    pqxx::work tx(conn);
    // As retention expiry does: the day's rows leave, and so does their weight.
    tx.exec_params("DELETE FROM rollups_settled WHERE site_id = $1 AND bucket = $2", sites[0],
                   core::format_utc(march_1));
    tx.commit();
  }
  CHECK(total(sites[0], events::dimension::total) == 1);
  CHECK(mismatches() == 0);
  {
    pqxx::work tx(conn);
    storage::delete_site(tx, sites[0]);
    tx.commit();
  }
  CHECK(total(sites[0], events::dimension::total) == 0);
  CHECK(total(sites[1], events::dimension::total) == 1);
  CHECK(mismatches() == 0);
}

TEST_CASE("totals since each month follow every change of the settled rows in any month order") {
  test_support::scoped_database db;
  pqxx::connection conn(db.dsn());
  storage::migrate(conn);
  const auto sites = make_sites(conn, {"UTC", "UTC"});
  constexpr std::int64_t day_ms = 86'400'000;
  constexpr std::int64_t jan_15 = 1'768'435'200'000;   // 2026-01-15T00:00Z
  constexpr std::int64_t feb_10 = 1'770'681'600'000;   // 2026-02-10T00:00Z
  constexpr std::int64_t march_1 = 1'772'323'200'000;  // 2026-03-01T00:00Z
  const auto now = core::from_unix_ms(march_1 + 4 * day_ms);
  storage::event_writer writer;
  const auto write_and_settle = [&](std::vector<storage::stored_event> events) {
    writer.write(conn, events);
    storage::settle_rollups(conn, now);
  };
  // The site total's weight from the start of `month` on; -1 without a row for that month.
  const auto since = [&](std::int64_t site, const char* month) {
    pqxx::work tx(conn);
    const auto row = tx.exec_params(
        "SELECT weight FROM rollup_value_totals_since WHERE site_id = $1 AND dimension = $2"
        " AND since = $3::date",
        site, static_cast<int>(events::dimension::total), month);
    return row.empty() ? std::int64_t{-1} : row[0][0].as<std::int64_t>();
  };
  // Rows that are not what summing the settled rows gives: each month with weight has a row with
  // that month's weight and the weight of it and every later month; no other month has a row.
  const auto mismatches = [&] {
    pqxx::work tx(conn);
    return tx
        .exec1(
            "WITH m AS (SELECT site_id, dimension, value_id,"
            "  date_trunc('month', bucket)::date AS since, sum(weight) AS month_weight"
            "  FROM rollups_settled GROUP BY 1, 2, 3, 4 HAVING sum(weight) <> 0),"
            " expected AS (SELECT *, sum(month_weight) OVER (PARTITION BY site_id, dimension,"
            "  value_id ORDER BY since DESC) AS weight FROM m)"
            " SELECT count(*) FROM rollup_value_totals_since t FULL JOIN expected e"
            " USING (site_id, dimension, value_id, since)"
            " WHERE t.month_weight IS DISTINCT FROM e.month_weight"
            " OR t.weight IS DISTINCT FROM e.weight")[0]
        .as<int>();
  };
  // 1 and 2 March settle, 4 March stays in rollups.
  write_and_settle({pageview(sites[0], march_1 + 1'000, 1), pageview(sites[0], march_1 + day_ms, 2),
                    pageview(sites[0], march_1 + 3 * day_ms, 3),
                    pageview(sites[1], march_1 + 1'000, 4)});
  CHECK(since(sites[0], "2026-03-01") == 2);
  CHECK(since(sites[1], "2026-03-01") == 1);
  CHECK(mismatches() == 0);
  // An earlier month starts from the later ones.
  write_and_settle({pageview(sites[0], jan_15, 5)});
  CHECK(since(sites[0], "2026-01-01") == 3);
  CHECK(since(sites[0], "2026-03-01") == 2);
  // A month between two: it starts from the next one, and the one before it grows.
  write_and_settle({pageview(sites[0], feb_10, 6), pageview(sites[0], feb_10 + 1'000, 7)});
  CHECK(since(sites[0], "2026-01-01") == 5);
  CHECK(since(sites[0], "2026-02-01") == 4);
  CHECK(since(sites[0], "2026-03-01") == 2);
  CHECK(mismatches() == 0);
  // A late event of a settled day is merged (an update of the settled row): every month up to its
  // own grows.
  write_and_settle({pageview(sites[0], march_1 + 2'000, 8)});
  CHECK(since(sites[0], "2026-01-01") == 6);
  CHECK(since(sites[0], "2026-02-01") == 5);
  CHECK(since(sites[0], "2026-03-01") == 3);
  CHECK(mismatches() == 0);
  {
    pqxx::work tx(conn);
    // As retention expiry does: February's only day leaves, and so does its month.
    tx.exec_params(
        "DELETE FROM rollups_settled WHERE site_id = $1 AND bucket >= $2 AND bucket < $3", sites[0],
        core::format_utc(feb_10), core::format_utc(feb_10 + day_ms));
    tx.commit();
  }
  CHECK(since(sites[0], "2026-01-01") == 4);
  CHECK(since(sites[0], "2026-02-01") == -1);
  CHECK(since(sites[0], "2026-03-01") == 3);
  CHECK(mismatches() == 0);
  {
    pqxx::work tx(conn);
    storage::delete_site(tx, sites[0]);
    tx.commit();
  }
  CHECK(since(sites[0], "2026-01-01") == -1);
  CHECK(since(sites[0], "2026-03-01") == -1);
  CHECK(since(sites[1], "2026-03-01") == 1);
  CHECK(mismatches() == 0);
}
