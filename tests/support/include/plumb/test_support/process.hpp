#pragma once
// Real binaries for end-to-end tests: started with their own environment, their stderr (JSON log
// lines) collected, stopped with SIGTERM (then SIGKILL) when the test ends.

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace plumb::test_support {

class process {
 public:
  // Starts `path` with `args` and exactly `env` as its environment.
  process(std::string path, std::vector<std::string> args, std::map<std::string, std::string> env);
  ~process();
  process(const process&) = delete;
  process& operator=(const process&) = delete;

  // Waits for the service's {"msg":"listening",...,"port":N} log line; throws with the output
  // so far if it does not come within `timeout` or the process exits.
  std::uint16_t wait_for_port(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Sends `signal` and waits for exit; returns the exit status (128+signal if killed).
  int stop(int signal = 15, std::chrono::milliseconds timeout = std::chrono::seconds(15));
  std::string output() const;

 private:
  int pid_ = -1;
  int stderr_fd_ = -1;
  std::thread reader_;
  mutable std::mutex mutex_;
  std::string output_;
  bool exited_ = false;
  int status_ = 0;
};

struct run_result {
  int status = 0;
  std::string out;
  std::string err;
};

// Runs a command to completion (plumbctl) with exactly `env`.
run_result run(const std::string& path, const std::vector<std::string>& args,
               const std::map<std::string, std::string>& env);

// Minimal HTTP/1.1 client for tests (one connection per request).
struct http_reply {
  unsigned status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};
http_reply http_request(const std::string& method, std::uint16_t port, const std::string& target,
                        const std::string& body = {},
                        const std::map<std::string, std::string>& headers = {});

}  // namespace plumb::test_support
