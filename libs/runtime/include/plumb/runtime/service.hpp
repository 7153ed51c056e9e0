#pragma once
// What every Plumb service does the same way: shutdown signals, /healthz and /metrics, the
// settings all services share, and the one-line startup failure.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "plumb/config/env_reader.hpp"
#include "plumb/core/ip_address.hpp"
#include "plumb/events/keys.hpp"
#include "plumb/http/router.hpp"
#include "plumb/log/logger.hpp"
#include "plumb/metrics/registry.hpp"
#include "plumb/redis/connection.hpp"

namespace plumb::runtime {

// Blocks SIGINT and SIGTERM in the calling thread and every thread it starts afterwards; call it
// first thing in main(), then wait() where the service should begin shutting down.
class shutdown_signal {
 public:
  shutdown_signal();
  // Returns the signal number once SIGINT or SIGTERM arrives.
  int wait();
  // Non-blocking: true once a signal is pending (for loops that poll between units of work).
  bool pending();
};

// Settings every service reads.
struct common_settings {
  log::level log_level = log::level::info;
  redis::endpoint redis;  // from PLUMB_REDIS_URL
  events::keys keys;      // from PLUMB_REDIS_PREFIX
};
common_settings read_common(config::env_reader& env);
// Help text lines for the settings above, for --help.
std::string common_help();
// PLUMB_TRUSTED_PROXIES: comma-separated CIDRs whose X-Forwarded-For is believed (default none).
std::vector<core::cidr> read_trusted_proxies(config::env_reader& env);

// One dependency check for /healthz: a name and a probe that returns an empty string when healthy
// or the problem otherwise. Probes may block (the route runs on the blocking pool).
struct health_check {
  std::string name;
  std::function<std::string()> probe;
};

// GET /healthz: 200 {"status":"ok","checks":{...}} or 503 with the failing checks.
// GET /metrics: the registry in Prometheus text format.
void add_standard_routes(http::router& routes, metrics::registry& registry,
                         std::vector<health_check> checks);

// Logs "starting" with every effective setting (secrets redacted by the reader).
void log_startup(log::logger& log, const config::env_reader& env);

// Prints `--help` text or runs `run`; turns startup exceptions into one line on stderr and exit
// status 1 (2 for configuration errors).
int run_main(int argc, char** argv, std::string_view help, const std::function<int()>& run);

}  // namespace plumb::runtime
