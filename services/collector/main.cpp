// plumb-collector: wiring only (see collector.hpp for the request handling).
#include <thread>

#include "collector.hpp"
#include "collector_config.hpp"
#include "publisher.hpp"
#include "stream_writer.hpp"
#include "tracker_routes.hpp"
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

    auto geo = geo::resolver::none();
    if (!cfg.geoip_databases.empty()) {
      auto opened = geo::resolver::open(cfg.geoip_databases);
      if (!opened) {
        throw config::invalid_config({"PLUMB_GEOIP_DB: " + opened.error()});
      }
      geo = std::move(*opened);
      for (const auto& db : geo.databases()) {
        log.info("geoip database", {{"path", db.info().path}, {"type", db.info().type},
                                    {"build_epoch", static_cast<std::int64_t>(db.info().build_epoch)}});
      }
    } else {
      log.warn("no PLUMB_GEOIP_DB: countries will be unknown");
    }

    // Sites and salts must be loaded before the first hit can be routed and hashed: the collector
    // needs Redis once at start (salts are never stored anywhere else, by design).
    collector::site_cache sites;
    collector::salt_store salts;
    auto refresh = [&] {
      redis::connection redis(cfg.common.redis);
      if (const auto loaded = sites.refresh(redis, keys); loaded.malformed > 0) {
        log.rate_limited(log::level::warn, "site-map", std::chrono::minutes(5),
                         "skipped malformed entries in the site map",
                         {{"malformed", loaded.malformed}, {"sites", loaded.sites}});
      }
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

    collector::publisher_options publishing;
    publishing.endpoint = cfg.common.redis;
    publishing.keys = keys;
    publishing.spool.directory = cfg.spool_dir;
    publishing.spool.max_total_bytes = cfg.spool_max_bytes;
    publishing.capacity = cfg.buffer_events;
    publishing.redis_timeout = cfg.redis_timeout;
    publishing.memory_watermark = cfg.redis_memory_watermark;
    collector::publisher publisher(publishing, log, registry);
    // Healthy Redis: XADDs pipelined on the I/O thread itself; everything else: the publisher.
    collector::stream_writer_options writing;
    writing.endpoint = cfg.common.redis;
    writing.keys = keys;
    writing.capacity = cfg.buffer_events;
    writing.redis_timeout = cfg.redis_timeout;
    writing.retry_interval = publishing.retry_interval;
    writing.single_threaded = cfg.io_threads <= 1;  // the server runs at least one
    collector::stream_writer writer(publisher, writing, log, registry);
    auto handler = std::make_shared<const collector::ingest_handler>(
        sites, salts, geo, clock, cfg.trusted_proxies,
        [&writer](std::vector<std::string> records, std::function<void(bool)> stored) {
          return writer.submit(std::move(records), std::move(stored));
        },
        registry);

    http::router routes;
    collector::add_ingest_routes(routes, handler);
    collector::add_tracker_routes(routes, cfg.tracker_alias);
    runtime::add_standard_routes(routes, registry,
                                 {{"storage", [&writer] {
                                     return writer.healthy() ? std::string()
                                                             : std::string("redis and the spool refuse events");
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
    options.on_io_start = [&writer](boost::asio::io_context& ioc) { writer.attach(ioc); };
    // Unconfirmed pipelined events go to the publisher, which is stopped (and drained) after.
    options.on_io_stop = [&writer] { writer.detach(); };
    http::server server(options, std::move(routes));

    publisher.start();
    refresher.start();
    server.start();
    log.info("listening", {{"address", cfg.listen.host}, {"port", server.port()}});

    const int signal = signals.wait();
    log.info("shutting down", {{"signal", signal}});
    server.stop();  // waits for in-flight hits, which wait for Redis or the publisher
    publisher.stop(std::chrono::seconds(10));
    refresher.stop();
    log.info("stopped");
    return 0;
  });
}
