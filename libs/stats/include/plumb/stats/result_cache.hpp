#pragma once
// Redis cache of stats results for closed periods. A period is closed once it ended more than
// events::late_event_ms ago (conservatively: its last day is before the site's yesterday). Entries
// are keyed by the site's data version, read before the query runs; workers bump that version
// whenever they store an event older than late_event_ms, so an entry computed before a late event
// arrived is never read again (it expires after entry_ttl). Redis failures are not errors here:
// the result is computed without the cache.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "plumb/events/keys.hpp"
#include "plumb/stats/query.hpp"

namespace plumb::redis {
class pool;
}  // namespace plumb::redis

namespace plumb::stats {

class result_cache {
 public:
  // Entries outlive any use of their version by far, and still leave Redis within a day.
  static constexpr std::int64_t entry_ttl_seconds = 86'400;

  // `redis` must outlive the cache.
  result_cache(redis::pool& redis, events::keys keys) : redis_(redis), keys_(std::move(keys)) {}

  // `compute()` for `request_key` (the canonical request: endpoint and parameters), from the cache
  // when `cacheable` and an entry of the site's current version exists. Thread-safe.
  std::string get_or_compute(std::int64_t site_id, std::string_view request_key, bool cacheable,
                             const std::function<std::string()>& compute);

 private:
  redis::pool& redis_;
  events::keys keys_;
};

// True when `range` ended long enough before `today` (the site's local date) to be cached.
bool is_closed(const date_range& range, std::string_view today);

}  // namespace plumb::stats
