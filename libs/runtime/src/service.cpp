#include "plumb/runtime/service.hpp"

#include <csignal>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "plumb/json/writer.hpp"

namespace plumb::runtime {
namespace {

sigset_t shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

shutdown_signal::shutdown_signal() {
  const sigset_t set = shutdown_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A client hanging up mid-write must surface as an error code, never kill the process.
  std::signal(SIGPIPE, SIG_IGN);
}

int shutdown_signal::wait() {
  const sigset_t set = shutdown_signals();
  int received = 0;
  while (sigwait(&set, &received) != 0) {
  }
  return received;
}

bool shutdown_signal::pending() {
  sigset_t set;
  sigpending(&set);
  return sigismember(&set, SIGINT) == 1 || sigismember(&set, SIGTERM) == 1;
}

std::vector<core::cidr> read_trusted_proxies(config::env_reader& env) {
  auto proxies = core::parse_cidr_list(env.text("PLUMB_TRUSTED_PROXIES", ""));
  if (!proxies) {
    env.problem("PLUMB_TRUSTED_PROXIES", proxies.error());
    return {};
  }
  return std::move(*proxies);
}

common_settings read_common(config::env_reader& env) {
  common_settings s;
  const std::string level_text = env.text("PLUMB_LOG_LEVEL", "info");
  if (const auto level = log::parse_level(level_text)) {
    s.log_level = *level;
  } else {
    env.problem("PLUMB_LOG_LEVEL", "must be debug, info, warn or error");
  }
  const auto redis_url = env.connection_url("PLUMB_REDIS_URL", "redis://127.0.0.1:6379/0");
  if (auto endpoint = redis::endpoint::parse_url(redis_url)) {
    s.redis = std::move(*endpoint);
  } else {
    env.problem("PLUMB_REDIS_URL", endpoint.error());
  }
  const auto prefix = env.text("PLUMB_REDIS_PREFIX", "plumb:");
  if (prefix.empty() || prefix.size() > 64) {
    env.problem("PLUMB_REDIS_PREFIX", "must be 1 to 64 characters");
  }
  s.keys = events::keys(prefix);
  return s;
}

std::string common_help() {
  return "  PLUMB_REDIS_URL      redis://[:password@]host:port/db   (default redis://127.0.0.1:6379/0)\n"
         "  PLUMB_REDIS_PREFIX   prefix of every Redis key           (default plumb:)\n"
         "  PLUMB_LOG_LEVEL      debug | info | warn | error         (default info)\n";
}

void add_standard_routes(http::router& routes, metrics::registry& registry,
                         std::vector<health_check> checks) {
  routes.add(
      http::verb::get, "/healthz",
      [checks = std::move(checks)](const http::request&) {
        json::writer w;
        bool healthy = true;
        w.begin_object().key("checks").begin_object();
        for (const auto& check : checks) {
          std::string problem;
          try {
            problem = check.probe();
          } catch (const std::exception& e) {
            problem = e.what();
          }
          healthy = healthy && problem.empty();
          w.key(check.name).value(problem.empty() ? std::string_view("ok") : std::string_view(problem));
        }
        w.end_object().key("status").value(healthy ? "ok" : "unavailable").end_object();
        return http::response::json(healthy ? 200 : 503, std::move(w).str());
      },
      http::dispatch::blocking);
  routes.add(http::verb::get, "/metrics", [&registry](const http::request&) {
    return http::response::text(200, registry.render(), "text/plain; version=0.0.4; charset=utf-8");
  });
}

void log_startup(log::logger& log, const config::env_reader& env) {
  std::vector<log::field> fields;
  for (const auto& [name, value] : env.effective()) {
    fields.emplace_back(name, value);
  }
  log.log(log::level::info, "starting", fields);
}

int run_main(int argc, char** argv, std::string_view help, const std::function<int()>& run) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::fwrite(help.data(), 1, help.size(), stdout);
      return 0;
    }
    std::fprintf(stderr, "%s: unknown argument '%s' (try --help)\n", argv[0], argv[i]);
    return 2;
  }
  try {
    return run();
  } catch (const config::invalid_config& e) {
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    return 1;
  }
}

}  // namespace plumb::runtime
