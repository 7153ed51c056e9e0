#include "plumb/test_support/redis_server.hpp"

#include <csignal>
#include <fstream>
#include <map>
#include <stdexcept>
#include <thread>

#include "plumb/test_support/environment.hpp"
#include "plumb/test_support/loopback_port.hpp"
#include "plumb/test_support/process.hpp"

namespace plumb::test_support {

temp_dir::temp_dir(std::string_view prefix)
    : path_(std::filesystem::temp_directory_path() / unique_name(prefix)) {
  std::filesystem::create_directories(path_);
}

temp_dir::~temp_dir() {
  std::error_code ignored;  // best effort: a leftover temp directory harms nothing
  std::filesystem::remove_all(path_, ignored);
}

std::uint16_t free_port() { return loopback_port(loopback_port::mode::refusing).port(); }

redis_server::redis_server() : dir_("plumb-redis-"), port_(free_port()) {
  {
    std::ofstream conf(dir_.path() / "redis.conf");
    conf << "bind 127.0.0.1\nport " << port_ << "\ndir " << dir_.path().string()
         << "\nappendonly yes\nappendfsync everysec\nmaxmemory-policy noeviction\nsave \"\"\n"
         << "daemonize no\nlogfile \"\"\n";
  }  // closed (flushed) before Redis reads it
  start();
}

redis_server::~redis_server() {
  if (server_) {
    server_->stop();
  }
}

std::string redis_server::url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }

void redis_server::start() {
  server_ = std::make_unique<process>("/usr/bin/redis-server",
                                      std::vector<std::string>{(dir_.path() / "redis.conf").string()},
                                      std::map<std::string, std::string>{});
  for (int attempt = 0; attempt < 200; ++attempt) {
    if (server_->output().find("Ready to accept connections") != std::string::npos) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  throw std::runtime_error("redis-server did not start:\n" + server_->output());
}

void redis_server::stop() {
  run("/usr/bin/redis-cli", {"-p", std::to_string(port_), "shutdown"}, {});
  server_->stop(SIGTERM);
  server_.reset();
}

}  // namespace plumb::test_support
