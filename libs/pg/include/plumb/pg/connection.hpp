#pragma once
// PostgreSQL connections (libpqxx 6.4). pqxx types are part of this header on purpose: libs/pg
// and libs/storage are the only places that speak SQL, and services only ever see storage's API.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <vector>

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
class pool {
 public:
  pool(options opts, std::size_t size);

  class lease {
   public:
    lease(pool& owner, std::unique_ptr<pqxx::connection> conn);
    ~lease();
    lease(lease&&) noexcept = default;
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;
    lease& operator=(lease&&) = delete;
    pqxx::connection& operator*() { return *conn_; }
    pqxx::connection* operator->() { return conn_.get(); }

   private:
    pool* owner_;
    std::unique_ptr<pqxx::connection> conn_;
  };

  // Waits up to `wait` for a free connection; throws std::runtime_error when none frees up, or
  // pqxx::broken_connection when a new one cannot be opened.
  lease acquire(std::chrono::milliseconds wait = std::chrono::milliseconds{5'000});

 private:
  void give_back(std::unique_ptr<pqxx::connection> conn);

  options options_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  std::size_t free_slots_;
};

}  // namespace plumb::pg
