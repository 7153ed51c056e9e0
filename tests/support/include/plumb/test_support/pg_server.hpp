#pragma once
// A private PostgreSQL cluster for tests that stop and restart it (outage tests): initdb into a
// temporary directory, trust authentication on loopback, superuser "plumb". Runs as the postgres
// system user when the tests run as root (PostgreSQL refuses to run as root).

#include <cstdint>
#include <string>

#include "plumb/test_support/redis_server.hpp"

namespace plumb::test_support {

class pg_server {
 public:
  pg_server();  // initdb, then start()
  ~pg_server();
  pg_server(const pg_server&) = delete;
  pg_server& operator=(const pg_server&) = delete;

  void start();  // on the same port and data directory each time; waits until it accepts
  void stop();   // fast shutdown (open transactions roll back), waits for the exit
  // postgresql:// URI of the cluster's "postgres" database.
  std::string dsn() const;

 private:
  temp_dir dir_;
  std::uint16_t port_;
  bool running_ = false;
};

}  // namespace plumb::test_support
