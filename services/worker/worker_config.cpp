#include "worker_config.hpp"

#include <unistd.h>

namespace plumb::worker {
namespace {
std::string default_consumer_name() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return std::string(host) + "-" + std::to_string(getpid());
}
}  // namespace

worker_config worker_config::from_env(config::env_reader& env) {
  worker_config c;
  c.common = runtime::read_common(env);
  c.pg_dsn = env.connection_url("PLUMB_PG_DSN", "postgresql://plumb@127.0.0.1:5432/plumb");
  c.consumer_name = env.text("PLUMB_WORKER_NAME", default_consumer_name());
  c.batch_size = static_cast<std::size_t>(env.integer("PLUMB_WORKER_BATCH_SIZE", 3'000, 1, 50'000));
  c.batch_wait = env.millis("PLUMB_WORKER_BATCH_WAIT_MS", std::chrono::milliseconds(1'000),
                            std::chrono::milliseconds(1), std::chrono::milliseconds(60'000));
  c.statement_timeout = env.millis("PLUMB_WORKER_STATEMENT_TIMEOUT_MS", std::chrono::milliseconds(60'000),
                                   std::chrono::milliseconds(100), std::chrono::milliseconds(3'600'000));
  c.claim_idle = env.millis("PLUMB_WORKER_CLAIM_IDLE_MS", std::chrono::milliseconds(60'000),
                            std::chrono::milliseconds(10), std::chrono::milliseconds(86'400'000));
  c.max_db_writers = static_cast<std::size_t>(env.integer("PLUMB_WORKER_MAX_DB_WRITERS", 0, 0, 10'000));
  c.site_share_percent =
      static_cast<std::size_t>(env.integer("PLUMB_WORKER_SITE_SHARE_PERCENT", 10, 1, 100));
  c.max_deliveries = env.integer("PLUMB_WORKER_MAX_DELIVERIES", 5, 1, 1'000);
  c.listen = env.listen("PLUMB_WORKER_LISTEN", "127.0.0.1:0");
  if (const auto path = env.text("PLUMB_REFERRER_SPAM_LIST", ""); !path.empty()) {
    if (auto list = enrich::spam_filter::from_file(path)) {
      c.referrer_spam = std::move(*list);
    } else {
      env.problem("PLUMB_REFERRER_SPAM_LIST", list.error());
    }
  }
  env.finish();
  return c;
}

std::string worker_config::help() {
  return "plumb-worker: consumes the event stream and stores events in PostgreSQL exactly once.\n"
         "\n"
         "Usage: plumb-worker [--help]   (configured by environment variables)\n"
         "\n"
         "  PLUMB_PG_DSN                       postgresql:// URI of the database\n"
         "  PLUMB_WORKER_NAME                  consumer name, unique per process (default host-pid)\n"
         "  PLUMB_WORKER_BATCH_SIZE            events per transaction (default 3000)\n"
         "  PLUMB_WORKER_BATCH_WAIT_MS         longest wait for a batch to fill (default 1000)\n"
         "  PLUMB_WORKER_STATEMENT_TIMEOUT_MS  PostgreSQL statement_timeout (default 60000)\n"
         "  PLUMB_WORKER_CLAIM_IDLE_MS         take over entries pending this long with a dead worker (default 60000)\n"
         "  PLUMB_WORKER_MAX_DELIVERIES        dead-letter an entry delivered this often without success (default 5)\n"
         "  PLUMB_WORKER_MAX_DB_WRITERS        workers (of all processes) writing to PostgreSQL at once;\n"
         "                                     caps database load whatever the worker count (default 0: no cap)\n"
         "  PLUMB_WORKER_SITE_SHARE_PERCENT    share of a batch one site may fill while the stream is\n"
         "                                     backlogged; the rest waits in a deferred stream (default 10)\n"
         "  PLUMB_WORKER_LISTEN                host:port for /healthz and /metrics (default 127.0.0.1:0)\n"
         "  PLUMB_REFERRER_SPAM_LIST           referrer-spam domains, one per line (Matomo's format;\n"
         "                                     default: a small built-in list)\n" +
         runtime::common_help() +
         "\n"
         "Run as many workers as the database can take; each joins the consumer group.\n";
}

}  // namespace plumb::worker
