#include <pqxx/pqxx>

#include "plumb/test_support/environment.hpp"

namespace plumb::test_support {

std::string with_database(const std::string& dsn, const std::string& database) {
  const auto authority = dsn.find("://");
  const auto slash = dsn.find('/', authority == std::string::npos ? 0 : authority + 3);
  const auto query = dsn.find('?');
  const std::string tail = query == std::string::npos ? "" : dsn.substr(query);
  return dsn.substr(0, slash) + "/" + database + tail;
}

std::string as_dashboard_role(const std::string& dsn) {
  constexpr std::string_view password = "plumb-dashboard-test";
  pqxx::connection admin(pg_admin_dsn());
  pqxx::nontransaction(admin).exec("ALTER ROLE plumb_dashboard LOGIN PASSWORD '" + std::string(password) + "'");
  const auto authority = dsn.find("://") + 3;
  const auto at = dsn.find('@', authority);
  return dsn.substr(0, authority) + "plumb_dashboard:" + std::string(password) + dsn.substr(at);
}

scoped_database::scoped_database()
    : name_(unique_name("plumb_t_")), dsn_(with_database(pg_admin_dsn(), name_)) {
  pqxx::connection admin(pg_admin_dsn());
  pqxx::nontransaction(admin).exec("CREATE DATABASE " + name_);
}

scoped_database::~scoped_database() {
  try {
    pqxx::connection admin(pg_admin_dsn());
    pqxx::nontransaction(admin).exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::exception&) {
    // Leaving a uniquely named database behind is harmless: the test cluster is thrown away.
  }
}

}  // namespace plumb::test_support
