#pragma once
// PostgreSQL connections (libpqxx 6.4). pqxx types are part of this header on purpose: libs/pg
// and libs/storage are the only places that speak SQL, and services only ever see storage's API.

#include <chrono>
#include <cstddef>
#include <memory>
#include <pqxx/pqxx>

#include "plumb/core/pool.hpp"
#include <string>

namespace plumb::pg {

struct options {
  std::string dsn;
  // Upper bound for any single statement: a runaway query fails instead of piling up.
  std::chrono::milliseconds statement_timeout{30'000};
  std::string application_name = "plumb";
};

// Opens a connection with the session settings from `options`; throws pqxx::broken_connection.
std::unique_ptr<pqxx::connection> connect(const options& opts);

// A fixed-size pool for services that run queries from several threads (the dashboard's blocking
// pool). Connections are opened lazily; a connection that broke is discarded, never reused.
// acquire() throws std::runtime_error when none frees up in time, or pqxx::broken_connection.
class pool : public core::pool<pqxx::connection> {
 public:
  pool(options opts, std::size_t size);
};

}  // namespace plumb::pg
