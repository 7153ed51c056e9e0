// plumb-dashboard: wiring only (see dashboard.hpp, authz.hpp).
#include "dashboard.hpp"
#include "dashboard_config.hpp"
#include "plumb/http/server.hpp"
#include "plumb/redis/connection.hpp"
#include "plumb/smtp/client.hpp"

using namespace plumb;

int main(int argc, char** argv) {
  return runtime::run_main(argc, argv, dashboard::dashboard_config::help(), [] {
    runtime::shutdown_signal signals;
    config::env_reader env(config::process_environment());
    const auto cfg = dashboard::dashboard_config::from_env(env);
    log::logger log("dashboard", cfg.common.log_level);
    runtime::log_startup(log, env);
    metrics::registry registry;
    pg::pool pool({cfg.pg_dsn, cfg.statement_timeout, "plumb-dashboard"}, cfg.query_threads);
    redis::pool redis(cfg.common.redis, cfg.query_threads);
    const auto& clock = core::system_clock::instance();
    // Mail goes out on the outbox's own thread; a link is logged only when its mail could not be
    // delivered (or there is no SMTP server), for the operator to forward by hand.
    std::unique_ptr<smtp::outbox> outbox;
    if (cfg.smtp) {
      outbox = std::make_unique<smtp::outbox>(
          *cfg.smtp,
          smtp::outbox::reports{
              [&log](const smtp::message& m) { log.info("mail sent", {{"to", m.to}, {"subject", m.subject}}); },
              [&log](const smtp::message& m, const std::string& error, int attempt, bool final) {
                if (final) {
                  log.error("mail not delivered: deliver by hand",
                            {{"to", m.to}, {"subject", m.subject}, {"error", error}, {"attempts", attempt}, {"text", m.text}});
                } else {
                  log.warn("mail delivery failed, retrying",
                           {{"to", m.to}, {"subject", m.subject}, {"error", error}, {"attempt", attempt}});
                }
              }});
    }
    dashboard::session_store sessions(redis, cfg.common.keys, clock, {cfg.session_idle, cfg.session_absolute});
    dashboard::rate_limiter limits(redis, cfg.common.keys, cfg.secret);
    dashboard::dashboard_services services{
        pool,
        redis,
        cfg.common.keys,
        sessions,
        limits,
        clock,
        [&log, &outbox](const dashboard::mail& m) {
          if (outbox) {
            outbox->post({m.to, m.subject, dashboard::mail_text(m)});
          } else {
            log.info("mail to deliver by hand", {{"to", m.to}, {"subject", m.subject}, {"link", m.link}});
          }
        },
        cfg.public_url,
        cfg.collector_url,
        cfg.trusted_proxies,
        [&log](std::string_view problem) {
          log.rate_limited(log::level::warn, "problem", std::chrono::seconds(10), "request side effect failed",
                           {{"error", std::string(problem)}});
        }};

    http::router routes;
    dashboard::secure_routes secure(routes, services);
    dashboard::add_dashboard_routes(
        secure, routes, registry,
        {{"postgres",
          [&pool] {
            auto conn = pool.acquire();
            pqxx::nontransaction(*conn).exec("SELECT 1");
            return std::string();
          }},
         {"redis", [&redis] {
            auto conn = redis.acquire();
            const auto pong = conn->command({"PING"});
            return pong.is_error() ? pong.str : std::string();
          }}});

    http::server_options options;
    options.address = cfg.listen.host;
    options.port = cfg.listen.port;
    options.io_threads = cfg.io_threads;
    options.blocking_threads = cfg.query_threads;
    options.default_headers = dashboard::security_headers();
    options.on_handler_error = [&log](std::string_view what) {
      log.rate_limited(log::level::error, "handler", std::chrono::seconds(10), "request failed",
                       {{"error", std::string(what)}});
    };
    http::server server(options, std::move(routes));
    server.start();
    log.info("listening", {{"address", cfg.listen.host}, {"port", server.port()}});

    const int signal = signals.wait();
    log.info("shutting down", {{"signal", signal}});
    server.stop();
    log.info("stopped");
    return 0;
  });
}
