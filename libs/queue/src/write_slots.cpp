#include "plumb/queue/write_slots.hpp"

#include <stdexcept>
#include <thread>

namespace plumb::queue {
namespace {

// Expired leases go first; then the holder renews its own lease or takes a free slot.
// Scripts are small enough to send with EVAL; Redis caches them by hash anyway.
constexpr const char* acquire_script = R"lua(
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
local expiry = now_ms + tonumber(ARGV[3])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], expiry, ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
)lua";

// Polling interval while all slots are taken: short next to a batch's transaction.
constexpr std::chrono::milliseconds poll_interval{20};

}  // namespace

write_slots::write_slots(redis::connection& redis, const events::keys& keys, std::size_t limit,
                         std::chrono::milliseconds lease)
    : redis_(redis),
      key_(keys.db_write_slots()),
      limit_(std::to_string(limit)),
      lease_ms_(std::to_string(lease.count())) {}

bool write_slots::try_acquire(const std::string& holder) {
  const auto reply = redis_.command({"EVAL", acquire_script, "1", key_, holder, limit_, lease_ms_});
  if (reply.is_error()) {
    throw std::runtime_error("write slot: " + reply.str);
  }
  return reply.integer == 1;
}

bool write_slots::acquire(const std::string& holder, std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (!try_acquire(holder)) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(poll_interval);
  }
  return true;
}

void write_slots::release(const std::string& holder) {
  const auto reply = redis_.command({"ZREM", key_, holder});
  if (reply.is_error()) {
    throw std::runtime_error("write slot: " + reply.str);
  }
}

}  // namespace plumb::queue
