#include "plumb/stats/result_cache.hpp"

#include "plumb/crypto/crypto.hpp"
#include "plumb/redis/connection.hpp"
#include "plumb/stats/period.hpp"

namespace plumb::stats {
namespace {
// How long a query waits for a Redis connection before it answers without the cache.
constexpr std::chrono::milliseconds connection_wait{200};
}  // namespace

std::string result_cache::get_or_compute(std::int64_t site_id, std::string_view request_key,
                                         bool cacheable,
                                         const std::function<std::string()>& compute) {
  if (!cacheable) {
    return compute();
  }
  std::string key;
  try {
    auto conn = redis_.acquire(connection_wait);
    const auto version = conn->command({"GET", keys_.stats_version(site_id)});
    key = keys_.stats_result(site_id, version.is_nil() ? "0" : version.str,
                             crypto::to_hex(crypto::sha256({request_key})));
    const auto hit = conn->command({"GET", key});
    if (hit.type == redis::reply::kind::string) {
      return hit.str;
    }
  } catch (const std::exception&) {
    return compute();  // Redis down, slow or busy: no cache
  }
  std::string result = compute();
  try {
    redis_.acquire(connection_wait)->command({"SET", key, result, "EX", std::to_string(entry_ttl_seconds)});
  } catch (const std::exception&) {
    // Not cached this time; the result itself is fine.
  }
  return result;
}

bool is_closed(const date_range& range, std::string_view today) {
  // Before yesterday: the period ended at least a day ago, longer than events::late_event_ms.
  const auto yesterday =
      previous_period(date_range{std::string(today), std::string(today)}).first_day;
  return range.last_day < yesterday;
}

}  // namespace plumb::stats
