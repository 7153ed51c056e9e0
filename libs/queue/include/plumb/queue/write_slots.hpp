#pragma once
// A cap on how many workers write to PostgreSQL at once, whatever the number of worker processes:
// the operator scales workers for the queue and caps the database load separately
// (PLUMB_WORKER_MAX_DB_WRITERS). Slots are leases in a Redis sorted set (holder -> expiry), taken
// and renewed atomically by a Lua script on Redis's clock; a holder that dies frees its slot when
// the lease runs out.

#include <chrono>
#include <cstddef>
#include <string>

#include "plumb/events/keys.hpp"
#include "plumb/redis/connection.hpp"

namespace plumb::queue {

class write_slots {
 public:
  // `limit` slots, each held at most `lease` unless renewed by acquiring again.
  write_slots(redis::connection& redis, const events::keys& keys, std::size_t limit,
              std::chrono::milliseconds lease);

  // Takes (or renews) a slot for `holder`; retries every few milliseconds until `wait` has
  // passed. False when none freed up in time. Throws redis::error on connection failures and
  // std::runtime_error on error replies.
  bool acquire(const std::string& holder, std::chrono::milliseconds wait);
  void release(const std::string& holder);

 private:
  bool try_acquire(const std::string& holder);

  redis::connection& redis_;
  std::string key_;
  std::string limit_;
  std::string lease_ms_;
};

}  // namespace plumb::queue
