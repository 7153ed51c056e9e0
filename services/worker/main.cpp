// plumb-worker: wiring only (see worker.hpp for the loop).
#include "plumb/http/server.hpp"
#include "plumb/runtime/service.hpp"
#include "worker.hpp"

using namespace plumb;

int main(int argc, char** argv) {
  return runtime::run_main(argc, argv, worker::worker_config::help(), [] {
    runtime::shutdown_signal signals;
    config::env_reader env(config::process_environment());
    const auto cfg = worker::worker_config::from_env(env);
    log::logger log("worker", cfg.common.log_level);
    runtime::log_startup(log, env);
    metrics::registry registry;
    worker::worker loop(cfg, log, registry);

    http::router routes;
    runtime::add_standard_routes(routes, registry, {{"pipeline", [&loop] { return loop.last_error(); }}});
    http::server_options options;
    options.address = cfg.listen.host;
    options.port = cfg.listen.port;
    options.blocking_threads = 1;
    http::server server(options, std::move(routes));
    server.start();
    log.info("listening", {{"address", cfg.listen.host}, {"port", server.port()},
                           {"consumer", cfg.consumer_name}});

    // Runs on the main thread; a SIGTERM lets the current batch finish and commit first.
    loop.run([&signals] { return signals.pending(); });
    log.info("shutting down");
    server.stop();
    log.info("stopped");
    return 0;
  });
}
