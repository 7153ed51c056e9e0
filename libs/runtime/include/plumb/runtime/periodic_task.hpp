#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace plumb::runtime {

// Runs `task` on its own thread every `interval` until stop(). Exceptions from `task` go to
// `on_error` and the schedule continues: a background refresh must survive a flaky dependency.
class periodic_task {
 public:
  periodic_task(std::chrono::milliseconds interval, std::function<void()> task,
                std::function<void(const std::exception&)> on_error);
  ~periodic_task();
  periodic_task(const periodic_task&) = delete;
  periodic_task& operator=(const periodic_task&) = delete;

  void start();
  void stop();

 private:
  void run();

  std::chrono::milliseconds interval_;
  std::function<void()> task_;
  std::function<void(const std::exception&)> on_error_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace plumb::runtime
