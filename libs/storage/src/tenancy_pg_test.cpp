// Row-level security as the dashboard's role sees it (migration 0005): every tenant table has it
// enabled and forced, the role cannot bypass it, and a transaction sees only the rows of the
// principal it acts for — nothing at all when it names none.
#include <catch2/catch.hpp>
#include <pqxx/pqxx>
#include <set>

#include "plumb/storage/event_writer.hpp"
#include "plumb/storage/migrations.hpp"
#include "plumb/storage/site_config.hpp"
#include "plumb/storage/teams.hpp"
#include "plumb/storage/tenancy.hpp"
#include "plumb/storage/tenants.hpp"
#include "plumb/test_support/environment.hpp"
#include "storage_test_helpers.hpp"

using namespace plumb;

namespace {

// Tables holding tenant rows that the dashboard reads, each with the column naming the tenant.
const std::vector<std::string> tenant_tables{"accounts",
                                             "sites",
                                             "site_memberships",
                                             "invitations",
                                             "api_keys",
                                             "goals",
                                             "shared_links",
                                             "events",
                                             "dropped_events",
                                             "rollups",
                                             "rollups_settled",
                                             "rollup_value_totals",
                                             "rollup_value_totals_since",
                                             "visits",
                                             "visit_days",
                                             "dimension_values"};

struct two_tenants {
  std::int64_t account_a = 0, account_b = 0, site_a = 0, site_b = 0;
};

two_tenants make_tenants(pqxx::connection& owner) {
  two_tenants t;
  {
    pqxx::work tx(owner);
    t.account_a = storage::create_account(tx, "a@example.com", "a long password").id;
    t.account_b = storage::create_account(tx, "b@example.com", "a long password").id;
    t.site_a = storage::create_site(tx, t.account_a, "a.example", "UTC").id;
    t.site_b = storage::create_site(tx, t.account_b, "b.example", "UTC").id;
    for (const auto& [account, site] :
         {std::pair{t.account_a, t.site_a}, std::pair{t.account_b, t.site_b}}) {
      storage::create_api_key(tx, account, storage::api_scope::stats_read);
      storage::create_goal(tx, site, std::string("Signup"), std::nullopt);
      storage::create_shared_link(tx, site, "link", std::nullopt);
      storage::invite(tx, site, "friend@example.com", storage::site_role::viewer, account);
    }
    tx.commit();
  }
  storage::event_writer writer;
  const std::vector<storage::stored_event> batch{
      storage::testing::pageview(t.site_a, 1'700'000'000'000),
      storage::testing::pageview(t.site_b, 1'700'000'000'000)};
  writer.write(owner, batch);
  return t;
}

std::int64_t count(pqxx::work& tx, const std::string& table) {
  return tx.exec1("SELECT count(*) FROM " + table)[0].as<std::int64_t>();
}

}  // namespace

TEST_CASE(
    "every tenant table has row-level security enabled and forced, the dashboard role cannot "
    "bypass it") {
  test_support::scoped_database db;
  pqxx::connection owner(db.dsn());
  storage::migrate(owner);
  pqxx::work tx(owner);
  const auto role =
      tx.exec1("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = 'plumb_dashboard'");
  CHECK_FALSE(role[0].as<bool>());
  CHECK_FALSE(role[1].as<bool>());
  CHECK(tx.exec1("SELECT count(*) FROM pg_class WHERE relowner = 'plumb_dashboard'::regrole")[0]
            .as<int>() == 0);

  // Every table the role may touch, and every table with a tenant column, is protected.
  const auto tables = tx.exec(
      "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c "
      "JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND ("
      "  has_table_privilege('plumb_dashboard', c.oid, 'SELECT, INSERT, UPDATE, DELETE') OR EXISTS "
      "("
      "    SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname IN ('site_id', "
      "'account_id')))");
  std::set<std::string> seen;
  for (const auto& row : tables) {
    INFO(row[0].as<std::string>());
    CHECK(row[1].as<bool>());
    CHECK(row[2].as<bool>());
    seen.insert(row[0].as<std::string>());
  }
  for (const auto& table : tenant_tables) {
    INFO(table);
    CHECK(seen.contains(table));
  }
  // Partitions are not granted: queried directly they would skip their parent's policies.
  CHECK(tx.exec1("SELECT count(*) FROM pg_class c WHERE c.relispartition AND "
                 "has_table_privilege('plumb_dashboard', c.oid, 'SELECT')")[0]
            .as<int>() == 0);
}

TEST_CASE("as the dashboard role: no principal sees nothing, another tenant sees nothing of ours") {
  test_support::scoped_database db;
  pqxx::connection owner(db.dsn());
  storage::migrate(owner);
  const auto t = make_tenants(owner);
  pqxx::connection dashboard(test_support::as_dashboard_role(db.dsn()));

  SECTION("without plumb.account_id every tenant table is empty") {
    pqxx::work tx(dashboard);
    for (const auto& table : tenant_tables) {
      INFO(table);
      CHECK(count(tx, table) == 0);
    }
    CHECK_FALSE(storage::find_site(tx, "a.example"));
  }

  SECTION("acting as tenant B, nothing of tenant A is visible or changeable") {
    pqxx::work tx(dashboard);
    storage::act_as_account(tx, t.account_b);
    for (const auto& table : tenant_tables) {
      if (table == "accounts" || table == "api_keys") {
        continue;  // keyed by account, not site: checked below
      }
      INFO(table);
      CHECK(tx.exec1("SELECT count(*) FROM " + table + " WHERE " +
                     (table == "sites" ? "id" : "site_id") + " = " + std::to_string(t.site_a))[0]
                .as<int>() == 0);
    }
    CHECK(count(tx, "events") == 1);  // B's own event
    CHECK(tx.exec1("SELECT count(*) FROM accounts")[0].as<int>() == 1);
    CHECK(tx.exec1("SELECT count(*) FROM api_keys")[0].as<int>() == 1);
    CHECK(tx.exec_params("UPDATE sites SET timezone = 'Asia/Tokyo' WHERE id = $1", t.site_a)
              .affected_rows() == 0);
    CHECK(tx.exec_params("DELETE FROM rollups WHERE site_id = $1", t.site_a).affected_rows() == 0);
    CHECK(tx.exec_params("DELETE FROM events WHERE site_id = $1", t.site_a).affected_rows() == 0);
    CHECK_THROWS(tx.exec_params("INSERT INTO goals (site_id, event_name) VALUES ($1, 'Injected')",
                                t.site_a));
  }

  SECTION("a viewer cannot change settings even when the query forgets to check") {
    {
      pqxx::work tx(owner);
      tx.exec_params(
          "INSERT INTO site_memberships (site_id, account_id, role) VALUES ($1, $2, 'viewer')",
          t.site_a, t.account_b);
      tx.commit();
    }
    pqxx::work tx(dashboard);
    storage::act_as_account(tx, t.account_b);
    CHECK(count(tx, "events") == 2);
    CHECK(tx.exec_params("UPDATE sites SET timezone = 'Asia/Tokyo' WHERE id = $1", t.site_a)
              .affected_rows() == 0);
    CHECK(tx.exec_params("DELETE FROM events WHERE site_id = $1", t.site_a).affected_rows() == 0);
  }

  SECTION("a shared link's visitor sees that site only, read-only") {
    std::int64_t link_id = 0;
    {
      pqxx::work lookup(owner);
      link_id = lookup.exec_params1("SELECT id FROM shared_links WHERE site_id = $1", t.site_a)[0]
                    .as<std::int64_t>();
    }
    pqxx::work tx(dashboard);
    storage::act_as_shared_link(tx, link_id);
    CHECK(count(tx, "events") == 1);
    CHECK(count(tx, "sites") == 1);
    CHECK(count(tx, "accounts") == 0);
    CHECK(tx.exec_params("DELETE FROM goals WHERE site_id = $1", t.site_a).affected_rows() == 0);
  }

  SECTION("pre-authentication lookups find exactly the row they are asked for") {
    pqxx::work tx(dashboard);
    CHECK(storage::find_credentials(tx, "A@example.com")->id == t.account_a);
    CHECK_FALSE(storage::find_credentials(tx, "nobody@example.com"));
    CHECK(count(tx, "accounts") == 0);
  }
}
