#pragma once
// A private Redis for tests that stop and restart it (outage tests). Configured like production:
// AOF with appendfsync everysec, noeviction; data in its own temporary directory.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace plumb::test_support {

class process;

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class temp_dir {
 public:
  explicit temp_dir(std::string_view prefix);
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

class redis_server {
 public:
  redis_server();
  ~redis_server();
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  void start();  // on the same port and data directory each time; waits until it answers
  void stop();   // SHUTDOWN (the AOF is flushed), then waits for the process to exit
  std::string url() const;
  std::uint16_t port() const { return port_; }
  const std::filesystem::path& data_dir() const { return dir_.path(); }

 private:
  temp_dir dir_;
  std::uint16_t port_;
  std::unique_ptr<process> server_;
};

// A TCP port on 127.0.0.1 that nothing listened on a moment ago.
std::uint16_t free_port();

}  // namespace plumb::test_support
