#include "dashboard_config.hpp"

namespace plumb::dashboard {
namespace {

// "https://host[:port]" without a path: an origin as browsers send it.
bool is_origin(const std::string& url) {
  const auto scheme_end = url.find("://");
  return (url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0) && scheme_end != std::string::npos &&
         url.size() > scheme_end + 3 && url.find('/', scheme_end + 3) == std::string::npos;
}

}  // namespace

dashboard_config dashboard_config::from_env(config::env_reader& env) {
  using std::chrono::hours;
  using std::chrono::milliseconds;
  using std::chrono::minutes;
  dashboard_config c;
  c.common = runtime::read_common(env);
  c.pg_dsn = env.connection_url("PLUMB_PG_DSN", "postgresql://plumb_dashboard@127.0.0.1:5432/plumb");
  c.listen = env.listen("PLUMB_DASHBOARD_LISTEN", "127.0.0.1:8490");
  c.io_threads = static_cast<unsigned>(env.integer("PLUMB_DASHBOARD_IO_THREADS", 2, 1, 64));
  c.query_threads = static_cast<unsigned>(env.integer("PLUMB_DASHBOARD_QUERY_THREADS", 8, 1, 256));
  c.statement_timeout = env.millis("PLUMB_DASHBOARD_STATEMENT_TIMEOUT_MS", milliseconds(15'000),
                                   milliseconds(100), milliseconds(600'000));
  c.public_url = env.text("PLUMB_DASHBOARD_URL", "http://127.0.0.1:8490");
  if (!is_origin(c.public_url)) {
    env.problem("PLUMB_DASHBOARD_URL", "must be an origin such as https://plumb.example.com (no path)");
  }
  c.collector_url = env.text("PLUMB_COLLECTOR_URL", "http://127.0.0.1:8480");
  if (!is_origin(c.collector_url)) {
    env.problem("PLUMB_COLLECTOR_URL", "must be an origin such as https://collect.example.com (no path)");
  }
  // 32 characters: the HMAC key behind rate-limit counter names.
  c.secret = env.secret("PLUMB_DASHBOARD_SECRET", 32);
  c.session_idle = env.millis("PLUMB_SESSION_IDLE_MS", hours(24), minutes(5), hours(24 * 30));
  c.session_absolute = env.millis("PLUMB_SESSION_ABSOLUTE_MS", hours(24 * 14), minutes(5), hours(24 * 90));
  if (c.session_absolute < c.session_idle) {
    env.problem("PLUMB_SESSION_ABSOLUTE_MS", "must not be shorter than PLUMB_SESSION_IDLE_MS");
  }
  c.trusted_proxies = runtime::read_trusted_proxies(env);
  if (const auto url = env.connection_url("PLUMB_SMTP_URL", ""); !url.empty()) {
    auto settings = smtp::parse_url(url);
    if (!settings) {
      env.problem("PLUMB_SMTP_URL", settings.error());
    } else {
      c.smtp = std::move(*settings);
      c.smtp->from = env.required_text("PLUMB_SMTP_FROM");
      if (c.smtp->from.find('@') == std::string::npos ||
          c.smtp->from.find_first_of("<>\r\n ") != std::string::npos) {
        env.problem("PLUMB_SMTP_FROM", "must be a bare address such as plumb@example.com");
      }
      c.smtp->ca_file = env.text("PLUMB_SMTP_CA_FILE", "");
    }
  }
  env.finish();
  return c;
}

std::string dashboard_config::help() {
  return "plumb-dashboard: accounts, sites and the stats API.\n"
         "\n"
         "Usage: plumb-dashboard [--help]   (configured by environment variables)\n"
         "\n"
         "  PLUMB_PG_DSN                          postgresql:// URI; connect as the plumb_dashboard role\n"
         "                                        (row-level security applies to it)\n"
         "  PLUMB_DASHBOARD_LISTEN                host:port, port 0 = any free port (default 127.0.0.1:8490)\n"
         "  PLUMB_DASHBOARD_URL                   origin users reach the dashboard at (default http://127.0.0.1:8490)\n"
         "  PLUMB_COLLECTOR_URL                   origin of the collector, for tracking snippets\n"
         "  PLUMB_DASHBOARD_SECRET(_FILE)         at least 32 random characters (keys rate-limit counters)\n"
         "  PLUMB_SESSION_IDLE_MS                 sign-in ends after this long unused (default 1 day)\n"
         "  PLUMB_SESSION_ABSOLUTE_MS             sign-in ends this long after login (default 14 days)\n"
         "  PLUMB_TRUSTED_PROXIES                 CIDR list whose X-Forwarded-For is believed (rate limits)\n"
         "  PLUMB_DASHBOARD_IO_THREADS            HTTP I/O threads (default 2)\n"
         "  PLUMB_DASHBOARD_QUERY_THREADS         database query threads and pool size (default 8)\n"
         "  PLUMB_DASHBOARD_STATEMENT_TIMEOUT_MS  PostgreSQL statement_timeout (default 15000)\n"
         "  PLUMB_SMTP_URL                        smtp://user:pass@host:587 (STARTTLS) or smtps://...:465\n"
         "                                        (TLS) for reset and invitation mails; unset: logged\n"
         "  PLUMB_SMTP_FROM                       sender address (required with PLUMB_SMTP_URL)\n"
         "  PLUMB_SMTP_CA_FILE                    PEM CAs to trust for the SMTP server (default: system's)\n" +
         runtime::common_help() +
         "\n"
         "Endpoints: see README.md (\"Dashboard API\", \"Stats API\"); GET /api/openapi.json,\n"
         "GET /healthz, GET /metrics.\n";
}

}  // namespace plumb::dashboard
