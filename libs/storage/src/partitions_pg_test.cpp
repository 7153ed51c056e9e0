#include <algorithm>
#include <catch2/catch.hpp>
#include <exception>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "plumb/storage/event_writer.hpp"
#include "plumb/storage/migrations.hpp"
#include "plumb/storage/partitions.hpp"
#include "plumb/storage/rollup_settling.hpp"
#include "plumb/storage/tenants.hpp"
#include "plumb/test_support/environment.hpp"
#include "storage_test_helpers.hpp"

using namespace plumb;
using storage::testing::make_sites;
using storage::testing::pageview;

namespace {

// Instants used below (ms since the Unix epoch, UTC).
constexpr std::int64_t dec_15_2023 = 1'702'641'600'000;  // 2023-12-15T12:00Z
constexpr std::int64_t jun_1_2024 = 1'717'200'000'000;   // 2024-06-01T00:00Z
constexpr std::int64_t hour_ms = 3'600'000;

void set_retention(pqxx::connection& conn, std::int64_t site_id, int days) {
  pqxx::work tx(conn);
  tx.exec_params("UPDATE sites SET retention_days = $2 WHERE id = $1", site_id, days);
  tx.commit();
}

std::set<std::string> partitions(pqxx::connection& conn) {
  pqxx::work tx(conn);
  std::set<std::string> names;
  for (const auto& row :
       tx.exec("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
               " WHERE i.inhparent IN ('events'::regclass, 'dropped_events'::regclass)")) {
    names.insert(row[0].as<std::string>());
  }
  return names;
}

// received_at of a site's rows in `table`, as UTC text, oldest first.
std::vector<std::string> received(pqxx::connection& conn, const char* table, std::int64_t site_id) {
  pqxx::work tx(conn);
  tx.exec("SET LOCAL timezone = 'UTC'");
  std::vector<std::string> times;
  for (const auto& row : tx.exec_params(std::string("SELECT received_at::text FROM ") + table +
                                            " WHERE site_id = $1 ORDER BY received_at",
                                        site_id)) {
    times.push_back(row[0].as<std::string>());
  }
  return times;
}

// Local buckets of a site's rollup rows of one dimension, oldest first.
std::vector<std::string> buckets(pqxx::connection& conn, std::int64_t site_id,
                                 events::dimension d) {
  pqxx::work tx(conn);
  std::vector<std::string> times;
  for (const auto& row :
       tx.exec_params("SELECT bucket::text FROM (SELECT site_id, dimension, bucket FROM rollups"
                      " UNION ALL SELECT site_id, dimension, bucket FROM rollups_settled) r"
                      " WHERE site_id = $1 AND dimension = $2 ORDER BY bucket",
                      site_id, static_cast<int>(d))) {
    times.push_back(row[0].as<std::string>());
  }
  return times;
}

void insert_dropped(pqxx::connection& conn, std::int64_t site_id, std::int64_t received_ms) {
  pqxx::work tx(conn);
  tx.exec_params("INSERT INTO dropped_events VALUES ($1, $2::timestamptz, gen_random_uuid())",
                 site_id, core::format_utc(received_ms));
  tx.commit();
}

}  // namespace

TEST_CASE("partition names and months") {
  CHECK(storage::partition_name("events", {2023, 1}) == "events_y2023m01");
  CHECK(storage::month_of(1'701'388'799'999) ==
        storage::month{2023, 11});  // 2023-11-30T23:59:59.999Z
  CHECK(storage::month_of(1'701'388'800'000) == storage::month{2023, 12});
  const storage::month dec{2023, 12};
  CHECK(storage::month::from_index(dec.index() + 1) == storage::month{2024, 1});
  CHECK(storage::month::from_index(dec.index() - 11) == storage::month{2023, 1});
}

TEST_CASE("partitions are created ahead, once, even by concurrent callers") {
  test_support::scoped_database db;
  pqxx::connection conn(db.dsn());
  storage::migrate(conn);

  const auto created = storage::create_partitions_ahead(conn, core::from_unix_ms(dec_15_2023), 2);
  const std::set<std::string> expected{"events_y2023m12", "dropped_events_y2023m12",
                                       "events_y2024m01", "dropped_events_y2024m01",
                                       "events_y2024m02", "dropped_events_y2024m02"};
  CHECK(std::set<std::string>(created.begin(), created.end()) == expected);
  CHECK(created.size() == expected.size());
  CHECK(storage::create_partitions_ahead(conn, core::from_unix_ms(dec_15_2023), 2).empty());
  CHECK(partitions(conn) == expected);

  // A range: 2023-01-31T23:00Z to 2023-03-01T00:00Z spans January to March.
  storage::ensure_partitions(conn, 1'675'206'000'000, 1'677'628'800'000);
  CHECK(partitions(conn).size() == expected.size() + 6);
  CHECK(partitions(conn).contains("dropped_events_y2023m02"));
  storage::ensure_partitions(conn, 1'677'628'800'000, 1'675'206'000'000);  // empty range: no-op
  CHECK_THROWS_AS(storage::ensure_partitions(conn, 0, dec_15_2023), std::invalid_argument);
  CHECK_THROWS_AS(storage::create_partitions_ahead(conn, core::from_unix_ms(dec_15_2023), -1),
                  std::invalid_argument);

  // Several rounds of two processes racing for the same fresh months: every partition is
  // created by exactly one of them, and neither fails.
  for (int round = 0; round < 5; ++round) {
    const auto now = core::from_unix_ms(jun_1_2024 + round * 200 * 24 * hour_ms);
    std::vector<std::string> results[2];
    std::exception_ptr errors[2];
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) {
      threads.emplace_back([&, i] {
        try {
          pqxx::connection own(db.dsn());
          results[i] = storage::create_partitions_ahead(own, now, 3);
        } catch (...) {
          errors[i] = std::current_exception();
        }
      });
    }
    for (auto& t : threads) {
      t.join();
    }
    for (const auto& e : errors) {
      if (e) {
        std::rethrow_exception(e);
      }
    }
    std::vector<std::string> all(results[0]);
    all.insert(all.end(), results[1].begin(), results[1].end());
    std::set<std::string> wanted;
    for (int ahead = 0; ahead <= 3; ++ahead) {
      const auto m =
          storage::month::from_index(storage::month_of(core::unix_ms(now)).index() + ahead);
      wanted.insert(storage::partition_name("events", m));
      wanted.insert(storage::partition_name("dropped_events", m));
    }
    CHECK(all.size() == wanted.size());
    CHECK(std::set<std::string>(all.begin(), all.end()) == wanted);
  }

  // The event writer finds partitions made ahead of it and keeps working.
  const auto site = make_sites(conn, {"UTC"})[0];
  storage::event_writer writer;
  const std::vector batch{pageview(site, dec_15_2023)};
  CHECK(writer.write(conn, batch).inserted == 1);
}

TEST_CASE(
    "retention deletes exactly what each site's cutoff expires, and drops only emptied "
    "partitions") {
  test_support::scoped_database db;
  pqxx::connection conn(db.dsn());
  storage::migrate(conn);
  const auto sites = make_sites(conn, {"UTC", "UTC", "Asia/Kolkata"});
  const auto a = sites[0];        // 30 days
  const auto forever = sites[1];  // no retention
  const auto kolkata = sites[2];  // 60 days, +05:30

  // now = 2024-03-15T00:30Z; a's cutoff is 2024-02-14T00:30Z, kolkata's 2024-01-15T00:30Z, which
  // is 06:00 local: the site's hour 05:00-06:00 ends exactly at its cutoff.
  constexpr std::int64_t now = 1'710'462'600'000;
  constexpr std::int64_t a_cutoff = 1'707'870'600'000;
  constexpr std::int64_t kolkata_cutoff = 1'705'278'600'000;
  constexpr std::int64_t jan_10 = 1'704'888'000'000;  // 2024-01-10T12:00Z
  constexpr std::int64_t dec_5 = 1'701'777'600'000;   // 2023-12-05T12:00Z
  constexpr std::int64_t nov_20 = 1'700'481'600'000;  // 2023-11-20T12:00Z
  constexpr std::int64_t nov_21 = 1'700'568'000'000;  // 2023-11-21T12:00Z
  constexpr std::int64_t oct_10 = 1'696'939'200'000;  // 2023-10-10T12:00Z

  storage::event_writer writer;
  const std::vector batch{pageview(a, a_cutoff - 1),
                          pageview(a, a_cutoff),
                          pageview(a, a_cutoff + hour_ms),
                          pageview(a, jan_10),
                          pageview(a, dec_5),
                          pageview(forever, dec_5),
                          pageview(kolkata, kolkata_cutoff - 1),
                          pageview(kolkata, kolkata_cutoff),
                          pageview(kolkata, nov_20)};
  writer.write(conn, batch);
  insert_dropped(conn, a, nov_20);
  insert_dropped(conn, forever, nov_21);
  // Rows of a site no longer in `sites`: retention does not cover them, so they stay.
  storage::ensure_partitions(conn, oct_10, oct_10);
  insert_dropped(conn, 999'999, oct_10);
  storage::create_partitions_ahead(conn, core::from_unix_ms(now), 1);
  storage::settle_rollups(conn, core::from_unix_ms(now));  // every day's visit rows are built
  // Visit rows (and their days' marks) per site and local day.
  const auto visit_days = [&](const char* table) {
    pqxx::work tx(conn);
    std::vector<std::string> out;
    for (const auto& r : tx.exec(std::string("SELECT site_id, day, count(*) FROM ") + table +
                                 " GROUP BY 1, 2 ORDER BY 1, 2")) {
      out.push_back(std::string(r[0].c_str()) + " " + r[1].c_str() + " " + r[2].c_str());
    }
    return out;
  };
  const auto day_of = [](std::int64_t site, const char* day, int rows) {
    return std::to_string(site) + " " + day + " " + std::to_string(rows);
  };

  // Without any retention set, nothing happens.
  const auto before = partitions(conn);
  const auto idle = storage::apply_retention(conn, core::from_unix_ms(now));
  CHECK(idle.ran);
  CHECK(idle.events_deleted + idle.dropped_events_deleted + idle.rollups_deleted == 0);
  CHECK(idle.partitions_dropped.empty());
  CHECK(partitions(conn) == before);

  set_retention(conn, a, 30);
  set_retention(conn, kolkata, 60);
  {
    pqxx::work tx(conn);
    CHECK_THROWS_AS(tx.exec_params("UPDATE sites SET retention_days = 29 WHERE id = $1", a),
                    pqxx::check_violation);
  }

  const auto result = storage::apply_retention(conn, core::from_unix_ms(now));
  CHECK(result.ran);
  CHECK(result.events_deleted == 5);
  CHECK(result.dropped_events_deleted == 1);
  CHECK(result.rollups_deleted == 7);  // a: 2 days and 2 hours; kolkata: 1 day and 2 hours
  // Visit rows of whole days before the cutoff, and their marks: a's 10 January and 5 December,
  // kolkata's 20 November; 14 February (a) and 15 January (kolkata) end after theirs.
  CHECK(result.visit_rows_deleted == 6);
  CHECK(visit_days("visits") == std::vector<std::string>{day_of(a, "2024-02-14", 3),
                                                         day_of(forever, "2023-12-05", 1),
                                                         day_of(kolkata, "2024-01-15", 2)});
  CHECK(visit_days("visit_days") == std::vector<std::string>{day_of(a, "2024-02-14", 1),
                                                             day_of(forever, "2023-12-05", 1),
                                                             day_of(kolkata, "2024-01-15", 1)});
  CHECK(result.partitions_busy.empty());

  CHECK(received(conn, "events", a) ==
        std::vector<std::string>{"2024-02-14 00:30:00+00", "2024-02-14 01:30:00+00"});
  CHECK(received(conn, "events", forever) == std::vector<std::string>{"2023-12-05 12:00:00+00"});
  CHECK(received(conn, "events", kolkata) == std::vector<std::string>{"2024-01-15 00:30:00+00"});
  CHECK(received(conn, "dropped_events", a).empty());
  CHECK(received(conn, "dropped_events", forever) ==
        std::vector<std::string>{"2023-11-21 12:00:00+00"});
  CHECK(received(conn, "dropped_events", 999'999) ==
        std::vector<std::string>{"2023-10-10 12:00:00+00"});

  // Rollup days and hours are kept unless they end by the cutoff: UTC site a keeps hour 00:00 (its
  // cutoff is 00:30, inside that hour); the Kolkata site loses local hour 05:00 and keeps 06:00.
  // Both keep the day of their cutoff.
  using events::dimension;
  CHECK(buckets(conn, a, dimension::total) == std::vector<std::string>{"2024-02-14 00:00:00"});
  CHECK(buckets(conn, a, dimension::total_hourly) ==
        std::vector<std::string>{"2024-02-14 00:00:00", "2024-02-14 01:00:00"});
  CHECK(buckets(conn, kolkata, dimension::total) ==
        std::vector<std::string>{"2024-01-15 00:00:00"});
  CHECK(buckets(conn, kolkata, dimension::total_hourly) ==
        std::vector<std::string>{"2024-01-15 06:00:00"});
  CHECK(buckets(conn, forever, dimension::total) ==
        std::vector<std::string>{"2023-12-05 00:00:00"});
  CHECK(buckets(conn, forever, dimension::total_hourly) ==
        std::vector<std::string>{"2023-12-05 12:00:00"});

  // Dropped: partitions ending by 2024-02-14 with no kept row. Kept: events_y2023m12 (the site
  // without retention), events_y2024m01 (kolkata's row at its cutoff), dropped_events_y2023m11
  // (the site without retention), dropped_events_y2023m10 (the deleted site's row), and every
  // partition from February on.
  const std::set<std::string> dropped(result.partitions_dropped.begin(),
                                      result.partitions_dropped.end());
  CHECK(dropped == std::set<std::string>{"events_y2023m10", "events_y2023m11",
                                         "dropped_events_y2023m12", "dropped_events_y2024m01"});
  CHECK(result.partitions_dropped.size() == dropped.size());
  const auto after = partitions(conn);
  for (const auto& name : before) {
    CHECK(after.contains(name) != dropped.contains(name));
  }

  // A second run finds nothing more to do.
  const auto again = storage::apply_retention(conn, core::from_unix_ms(now));
  CHECK(again.ran);
  CHECK(again.events_deleted + again.dropped_events_deleted + again.rollups_deleted == 0);
  CHECK(again.partitions_dropped.empty());
}

TEST_CASE("retention runs in one process at a time and never waits long for a busy partition") {
  test_support::scoped_database db;
  pqxx::connection conn(db.dsn());
  storage::migrate(conn);
  const auto site = make_sites(conn, {"UTC"})[0];
  set_retention(conn, site, 30);
  constexpr std::int64_t now = 1'710'462'600'000;  // 2024-03-15T00:30Z
  storage::event_writer writer;
  const std::vector batch{pageview(site, dec_15_2023)};
  writer.write(conn, batch);

  pqxx::connection other(db.dsn());
  {
    // Another process mid-run holds the retention lock (id from partitions.cpp).
    pqxx::nontransaction(other).exec("SELECT pg_advisory_lock(" + std::to_string(0x706c756d62'03) +
                                     ")");
    const auto skipped = storage::apply_retention(conn, core::from_unix_ms(now));
    CHECK_FALSE(skipped.ran);
    CHECK(received(conn, "events", site).size() == 1);
    pqxx::nontransaction(other).exec("SELECT pg_advisory_unlock(" +
                                     std::to_string(0x706c756d62'03) + ")");
  }
  {
    // A long report query reads events: the drop gives up after its lock timeout, the rows are
    // still deleted, and the next run drops the partition.
    pqxx::work report(other);
    report.exec("SELECT count(*) FROM events");
    const auto busy = storage::apply_retention(conn, core::from_unix_ms(now));
    CHECK(busy.ran);
    CHECK(busy.events_deleted == 1);
    CHECK(std::find(busy.partitions_dropped.begin(), busy.partitions_dropped.end(),
                    "events_y2023m12") == busy.partitions_dropped.end());
    CHECK(std::find(busy.partitions_busy.begin(), busy.partitions_busy.end(), "events_y2023m12") !=
          busy.partitions_busy.end());
  }
  const auto later = storage::apply_retention(conn, core::from_unix_ms(now));
  CHECK(std::find(later.partitions_dropped.begin(), later.partitions_dropped.end(),
                  "events_y2023m12") != later.partitions_dropped.end());
  CHECK(later.partitions_busy.empty());
}
