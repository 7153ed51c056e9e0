#pragma once

#include <chrono>
#include <string>

#include "plumb/http/client_address.hpp"
#include "plumb/config/env_reader.hpp"
#include "plumb/runtime/service.hpp"

namespace plumb::collector {

struct collector_config {
  runtime::common_settings common;
  config::listen_address listen;
  unsigned io_threads = 2;
  std::size_t buffer_events = 100'000;
  std::chrono::milliseconds refresh_interval{5'000};
  std::vector<core::cidr> trusted_proxies;  // peers whose X-Forwarded-For is believed
  std::vector<std::string> geoip_databases;  // .mmdb files asked in order; none = country unknown
  std::string spool_dir;
  std::uint64_t spool_max_bytes = 0;
  std::chrono::milliseconds redis_timeout{1'000};
  double redis_memory_watermark = 0.9;
  std::string tracker_alias;  // extra name for the tracker script, for ad-block resilience

  // Reads every PLUMB_* setting; throws config::invalid_config listing all problems.
  static collector_config from_env(config::env_reader& env);
  static std::string help();
};

}  // namespace plumb::collector
