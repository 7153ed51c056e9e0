#include "plumb/runtime/periodic_task.hpp"

namespace plumb::runtime {

periodic_task::periodic_task(std::chrono::milliseconds interval, std::function<void()> task,
                             std::function<void(const std::exception&)> on_error)
    : interval_(interval), task_(std::move(task)), on_error_(std::move(on_error)) {}

periodic_task::~periodic_task() { stop(); }

void periodic_task::start() { thread_ = std::thread([this] { run(); }); }

void periodic_task::stop() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void periodic_task::run() {
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      if (wake_.wait_for(lock, interval_, [this] { return stopping_; })) {
        return;
      }
    }
    try {
      task_();
    } catch (const std::exception& e) {
      on_error_(e);
    }
  }
}

}  // namespace plumb::runtime
