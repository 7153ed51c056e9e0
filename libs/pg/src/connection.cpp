#include "plumb/pg/connection.hpp"

#include <stdexcept>

namespace plumb::pg {

std::unique_ptr<pqxx::connection> connect(const options& opts) {
  auto conn = std::make_unique<pqxx::connection>(opts.dsn);
  pqxx::nontransaction setup(*conn);
  // set_config with bound values: settings never pass through SQL text.
  setup.exec_params("SELECT set_config('statement_timeout', $1, false), "
                    "set_config('application_name', $2, false), set_config('TimeZone', 'UTC', false)",
                    std::to_string(opts.statement_timeout.count()), opts.application_name);
  setup.commit();
  return conn;
}

pool::pool(options opts, std::size_t size) : options_(std::move(opts)), free_slots_(size) {}

pool::lease::lease(pool& owner, std::unique_ptr<pqxx::connection> conn)
    : owner_(&owner), conn_(std::move(conn)) {}

pool::lease::~lease() {
  if (conn_) {
    owner_->give_back(std::move(conn_));
  }
}

pool::lease pool::acquire(std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  if (!available_.wait_for(lock, wait, [this] { return free_slots_ > 0; })) {
    throw std::runtime_error("no PostgreSQL connection became free in time");
  }
  --free_slots_;
  if (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    return lease(*this, std::move(conn));
  }
  lock.unlock();
  try {
    return lease(*this, connect(options_));
  } catch (...) {
    const std::lock_guard relock(mutex_);
    ++free_slots_;
    available_.notify_one();
    throw;
  }
}

void pool::give_back(std::unique_ptr<pqxx::connection> conn) {
  const std::lock_guard lock(mutex_);
  if (conn->is_open()) {
    idle_.push_back(std::move(conn));
  }
  ++free_slots_;
  available_.notify_one();
}

}  // namespace plumb::pg
