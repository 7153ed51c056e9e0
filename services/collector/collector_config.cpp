#include "collector_config.hpp"

#include "plumb/geo/database.hpp"
#include "tracker_routes.hpp"

namespace plumb::collector {

collector_config collector_config::from_env(config::env_reader& env) {
  collector_config c;
  c.common = runtime::read_common(env);
  c.listen = env.listen("PLUMB_COLLECTOR_LISTEN", "127.0.0.1:8480");
  c.io_threads = static_cast<unsigned>(env.integer("PLUMB_COLLECTOR_IO_THREADS", 2, 1, 64));
  c.buffer_events =
      static_cast<std::size_t>(env.integer("PLUMB_COLLECTOR_BUFFER_EVENTS", 100'000, 1'000, 10'000'000));
  c.refresh_interval = env.millis("PLUMB_SITE_REFRESH_MS", std::chrono::milliseconds(5'000),
                                  std::chrono::milliseconds(100), std::chrono::milliseconds(600'000));
  c.trusted_proxies = runtime::read_trusted_proxies(env);
  c.geoip_databases = geo::split_path_list(env.text("PLUMB_GEOIP_DB", ""));
  c.spool_dir = env.text("PLUMB_SPOOL_DIR", "/var/lib/plumb/collector-spool");
  c.spool_max_bytes =
      static_cast<std::uint64_t>(env.integer("PLUMB_SPOOL_MAX_MB", 1024, 16, 1'048'576)) * 1024 * 1024;
  c.redis_timeout = env.millis("PLUMB_REDIS_TIMEOUT_MS", std::chrono::milliseconds(1'000),
                               std::chrono::milliseconds(10), std::chrono::milliseconds(60'000));
  c.redis_memory_watermark =
      static_cast<double>(env.integer("PLUMB_REDIS_MEMORY_WATERMARK_PERCENT", 90, 10, 100)) / 100.0;
  c.tracker_alias = env.text("PLUMB_TRACKER_ALIAS", "");
  if (!c.tracker_alias.empty() && !valid_tracker_alias(c.tracker_alias)) {
    env.problem("PLUMB_TRACKER_ALIAS", "must be 1-40 characters of a-z, 0-9 and '-'");
  }
  env.finish();
  return c;
}

std::string collector_config::help() {
  return "plumb-collector: accepts tracker hits and appends them to the Redis stream.\n"
         "\n"
         "Usage: plumb-collector [--help]   (configured by environment variables)\n"
         "\n"
         "  PLUMB_COLLECTOR_LISTEN         host:port to listen on, port 0 = any free port (default 127.0.0.1:8480)\n"
         "  PLUMB_COLLECTOR_IO_THREADS     HTTP I/O threads (default 2)\n"
         "  PLUMB_COLLECTOR_BUFFER_EVENTS  events held in memory while Redis is unavailable (default 100000)\n"
         "  PLUMB_SITE_REFRESH_MS          how often the site map and salts are reloaded (default 5000)\n"
         "  PLUMB_TRUSTED_PROXIES          comma-separated CIDRs whose X-Forwarded-For is believed (default none)\n"
         "  PLUMB_GEOIP_DB                 comma-separated MaxMind-format .mmdb files for countries (default none)\n"
         "  PLUMB_SPOOL_DIR                where hits wait while Redis is unavailable (default /var/lib/plumb/collector-spool)\n"
         "  PLUMB_SPOOL_MAX_MB             disk the spool may use (default 1024)\n"
         "  PLUMB_REDIS_TIMEOUT_MS         slower Redis appends go to the spool (default 1000)\n"
         "  PLUMB_REDIS_MEMORY_WATERMARK_PERCENT  spool above this share of Redis maxmemory (default 90)\n"
         "  PLUMB_TRACKER_ALIAS            also serve the tracker as /js/<alias>.js (default none)\n" +
         runtime::common_help() +
         "\n"
         "Endpoints: POST /api/event, GET /api/event (pixel), GET /js/script.js, GET /healthz, GET /metrics.\n"
         "Logs one JSON object per line on stderr, including {\"msg\":\"listening\",\"port\":N}.\n";
}

}  // namespace plumb::collector
