#pragma once
// A fixed-size pool of connections (PostgreSQL, Redis) for services that use blocking clients
// from several threads. Connections are opened lazily; one that broke is discarded, never reused.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace plumb::core {

template <typename Connection>
class pool {
 public:
  // `open` makes a connection (and may throw); `usable` says whether a returned one may be reused.
  pool(std::size_t size, std::function<std::unique_ptr<Connection>()> open,
       std::function<bool(const Connection&)> usable, std::string name)
      : open_(std::move(open)), usable_(std::move(usable)), name_(std::move(name)), free_slots_(size) {}

  class lease {
   public:
    lease(pool& owner, std::unique_ptr<Connection> conn) : owner_(&owner), conn_(std::move(conn)) {}
    ~lease() {
      if (conn_) {
        owner_->give_back(std::move(conn_));
      }
    }
    lease(lease&&) noexcept = default;
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;
    lease& operator=(lease&&) = delete;
    Connection& operator*() { return *conn_; }
    Connection* operator->() { return conn_.get(); }

   private:
    pool* owner_;
    std::unique_ptr<Connection> conn_;
  };

  // Waits up to `wait` for a free connection; throws std::runtime_error when none frees up, or
  // whatever `open` throws when a new one cannot be opened.
  lease acquire(std::chrono::milliseconds wait = std::chrono::milliseconds{5'000}) {
    std::unique_lock lock(mutex_);
    if (!available_.wait_for(lock, wait, [this] { return free_slots_ > 0; })) {
      throw std::runtime_error("no " + name_ + " connection became free in time");
    }
    --free_slots_;
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      return lease(*this, std::move(conn));
    }
    lock.unlock();
    try {
      return lease(*this, open_());
    } catch (...) {
      const std::lock_guard relock(mutex_);
      ++free_slots_;
      available_.notify_one();
      throw;
    }
  }

 private:
  void give_back(std::unique_ptr<Connection> conn) {
    const bool reuse = usable_(*conn);
    const std::lock_guard lock(mutex_);
    if (reuse) {
      idle_.push_back(std::move(conn));
    }
    ++free_slots_;
    available_.notify_one();
  }

  std::function<std::unique_ptr<Connection>()> open_;
  std::function<bool(const Connection&)> usable_;
  std::string name_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t free_slots_;
};

}  // namespace plumb::core
