// plumb-collector: wiring only (see collector.hpp for the request handling).
#include <thread>

#include "collector.hpp"
#include "collector_config.hpp"
#include "publisher.hpp"
#include "plumb/http/server.hpp"
#include "plumb/runtime/periodic_task.hpp"
#include "plumb/runtime/service.hpp"

using namespace plumb;

int main(int argc, char** argv) {
  return runtime::run_main(argc, argv, collector::collector_config::help(), [] {
    runtime::shutdown_signal signals;
    config::env_reader env(config::process_environment());
    const auto cfg = collector::collector_config::from_env(env);
    log::logger log("collector", cfg.common.log_level);
    runtime::log_startup(log, env);
    metrics::registry registry;
    const auto& keys = cfg.common.keys;
    const auto& clock = core::system_clock::instance();

    // Sites and salts must be loaded before the first hit can be hashed and routed.
    collector::site_cache sites;
    collector::salt_store salts;
    auto refresh = [&] {
      redis::connection redis(cfg.common.redis);
      sites.refresh(redis, keys);
      salts.refresh(redis, keys, clock.now());
    };
    for (;;) {
      try {
        refresh();
        break;
      } catch (const std::exception& e) {
        log.rate_limited(log::level::warn, "startup", std::chrono::seconds(5),
                         "waiting for redis to load sites and salts", {{"error", e.what()}});
      }
      if (signals.pending()) {
        return 0;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    runtime::periodic_task refresher(cfg.refresh_interval, refresh, [&log](const std::exception& e) {
      log.rate_limited(log::level::warn, "refresh", std::chrono::seconds(30),
                       "refreshing sites and salts failed; using cached copies", {{"error", e.what()}});
    });

    collector::publisher publisher({cfg.common.redis, keys, cfg.buffer_events, 500}, log, registry);
    auto handler = std::make_shared<const collector::ingest_handler>(
        sites, salts, clock, cfg.trusted_proxies,
        [&publisher](std::vector<events::fields> entries) { return publisher.enqueue(std::move(entries)); },
        registry);

    http::router routes;
    collector::add_ingest_routes(routes, handler);
    runtime::add_standard_routes(routes, registry,
                                 {{"redis", [&publisher] {
                                     return publisher.redis_healthy() || publisher.buffered() == 0
                                                ? std::string()
                                                : std::string("appends to redis are failing");
                                   }}});
    http::server_options options;
    options.address = cfg.listen.host;
    options.port = cfg.listen.port;
    options.io_threads = cfg.io_threads;
    options.blocking_threads = 1;
    options.body_limit = collector::max_body_bytes;
    options.default_headers = {{"Access-Control-Allow-Origin", "*"}};
    options.on_handler_error = [&log](std::string_view what) {
      log.rate_limited(log::level::error, "handler", std::chrono::seconds(10), "request failed",
                       {{"error", std::string(what)}});
    };
    http::server server(options, std::move(routes));

    publisher.start();
    refresher.start();
    server.start();
    log.info("listening", {{"address", cfg.listen.host}, {"port", server.port()}});

    const int signal = signals.wait();
    log.info("shutting down", {{"signal", signal}});
    server.stop();
    publisher.stop(std::chrono::seconds(10));
    refresher.stop();
    log.info("stopped");
    return 0;
  });
}
