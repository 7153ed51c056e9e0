#pragma once

#include <chrono>
#include <string>

#include "plumb/config/env_reader.hpp"
#include "plumb/runtime/service.hpp"

namespace plumb::dashboard {

struct dashboard_config {
  runtime::common_settings common;
  std::string pg_dsn;
  config::listen_address listen;
  unsigned io_threads = 2;
  // Threads that run database-backed handlers; also the PostgreSQL pool size.
  unsigned query_threads = 8;
  std::chrono::milliseconds statement_timeout{15'000};

  static dashboard_config from_env(config::env_reader& env);
  static std::string help();
};

}  // namespace plumb::dashboard
