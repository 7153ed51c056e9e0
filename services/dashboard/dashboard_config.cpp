#include "dashboard_config.hpp"

namespace plumb::dashboard {

dashboard_config dashboard_config::from_env(config::env_reader& env) {
  dashboard_config c;
  c.common = runtime::read_common(env);
  c.pg_dsn = env.connection_url("PLUMB_PG_DSN", "postgresql://plumb@127.0.0.1:5432/plumb");
  c.listen = env.listen("PLUMB_DASHBOARD_LISTEN", "127.0.0.1:8490");
  c.io_threads = static_cast<unsigned>(env.integer("PLUMB_DASHBOARD_IO_THREADS", 2, 1, 64));
  c.query_threads = static_cast<unsigned>(env.integer("PLUMB_DASHBOARD_QUERY_THREADS", 8, 1, 256));
  c.statement_timeout = env.millis("PLUMB_DASHBOARD_STATEMENT_TIMEOUT_MS", std::chrono::milliseconds(15'000),
                                   std::chrono::milliseconds(100), std::chrono::milliseconds(600'000));
  env.finish();
  return c;
}

std::string dashboard_config::help() {
  return "plumb-dashboard: accounts, sites and the stats API.\n"
         "\n"
         "Usage: plumb-dashboard [--help]   (configured by environment variables)\n"
         "\n"
         "  PLUMB_PG_DSN                          postgresql:// URI of the database\n"
         "  PLUMB_DASHBOARD_LISTEN                host:port, port 0 = any free port (default 127.0.0.1:8490)\n"
         "  PLUMB_DASHBOARD_IO_THREADS            HTTP I/O threads (default 2)\n"
         "  PLUMB_DASHBOARD_QUERY_THREADS         database query threads and pool size (default 8)\n"
         "  PLUMB_DASHBOARD_STATEMENT_TIMEOUT_MS  PostgreSQL statement_timeout (default 15000)\n" +
         runtime::common_help() +
         "\n"
         "Endpoints: GET /api/v1/stats/{realtime/visitors,aggregate,timeseries,breakdown},\n"
         "GET /api/stats/{domain}/{top-stats,main-graph,breakdown,export.csv,events.csv},\n"
         "GET /api/openapi.json, GET /healthz, GET /metrics.\n";
}

}  // namespace plumb::dashboard
