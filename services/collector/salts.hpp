#pragma once
// Daily salts for cookieless visitor hashes (DESIGN.md §1). One salt per UTC day, 32 CSPRNG bytes,
// created once for all collectors through Redis (SET NX) and expiring after the following day
// ends, so nobody — including us — can recompute a hash later. The collector keeps yesterday's,
// today's and tomorrow's salt in memory, so hashing never waits on Redis and a Redis outage of
// less than a day does not stop it.

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "plumb/core/clock.hpp"
#include "plumb/events/keys.hpp"
#include "plumb/redis/connection.hpp"

namespace plumb::collector {

inline constexpr std::size_t salt_bytes = 32;

// "YYYY-MM-DD" of the UTC day containing `t`.
std::string utc_date(core::time_point t);

struct visitor_hashes {
  std::uint64_t today = 0;
  std::uint64_t previous = 0;  // under the previous day's salt; 0 when that salt is unknown
};

// First 64 bits (big-endian) of SHA-256(salt ‖ site_id as 8 big-endian bytes ‖ ip ‖ user agent).
std::uint64_t visitor_hash(std::string_view salt, std::int64_t site_id, std::string_view ip,
                           std::string_view user_agent);

class salt_store {
 public:
  // Fetches (creating where missing) the salts around `now`. Throws redis::error.
  void refresh(redis::connection& redis, const events::keys& keys, core::time_point now);
  // Hashes for an event received at `received`; nullopt when that day's salt is not loaded.
  std::optional<visitor_hashes> hashes(std::int64_t site_id, std::string_view ip,
                                       std::string_view user_agent, core::time_point received) const;
  // Installs a salt directly (tests).
  void set(std::chrono::sys_days day, std::string_view salt);

 private:
  using salt = std::array<char, salt_bytes>;
  mutable std::mutex mutex_;
  std::map<std::chrono::sys_days, salt> by_day_;
};

}  // namespace plumb::collector
