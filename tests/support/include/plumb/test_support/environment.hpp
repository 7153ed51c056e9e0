#pragma once
// What `scripts/plumb test` hands to the integration tiers: the throwaway PostgreSQL and Redis it
// started, and where the built binaries are. A missing variable throws with the variable's name,
// so a pg/redis/e2e test run outside the script fails loudly instead of passing vacuously.

#include <string>
#include <string_view>

namespace plumb::test_support {

// PLUMB_TEST_PG_DSN: a superuser DSN (may create databases).
std::string pg_admin_dsn();
// PLUMB_TEST_REDIS_URL: redis://127.0.0.1:PORT/0
std::string redis_url();
// PLUMB_TEST_BIN_DIR: the build tree's root (binaries under services/<name>/).
std::string bin_dir();

// The built binary of a service: "collector", "worker", "dashboard" or "plumbctl".
std::string service_binary(std::string_view service);

// `prefix` followed by a random lowercase suffix: per-test databases and Redis key prefixes.
std::string unique_name(std::string_view prefix);

}  // namespace plumb::test_support

namespace plumb::test_support {

// A fresh, empty PostgreSQL database for one test, dropped (with its connections) afterwards.
class scoped_database {
 public:
  scoped_database();
  ~scoped_database();
  scoped_database(const scoped_database&) = delete;
  scoped_database& operator=(const scoped_database&) = delete;

  const std::string& dsn() const { return dsn_; }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::string dsn_;
};

// `dsn` (a postgresql:// URI) with its database name replaced.
std::string with_database(const std::string& dsn, const std::string& database);

// `dsn` signed in as the dashboard's role, plumb_dashboard (made by migration 0005, so migrate
// first), which this gives a login and a fixed password on the throwaway test cluster.
std::string as_dashboard_role(const std::string& dsn);

}  // namespace plumb::test_support
