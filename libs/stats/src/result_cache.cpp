#include "plumb/stats/result_cache.hpp"

#include "plumb/crypto/crypto.hpp"
#include "plumb/redis/connection.hpp"
#include "plumb/stats/period.hpp"

namespace plumb::stats {
namespace {
// Redis is a cache here: answer from PostgreSQL rather than wait long for it.
constexpr redis::timeouts cache_timeouts{std::chrono::milliseconds(200),
                                         std::chrono::milliseconds(200)};
// Idle connections kept for reuse (one per concurrently running query is enough).
constexpr std::size_t max_idle_connections = 16;
}  // namespace

result_cache::result_cache(const redis::endpoint& where, events::keys keys)
    : where_(std::make_unique<redis::endpoint>(where)), keys_(std::move(keys)) {}

result_cache::~result_cache() = default;

std::unique_ptr<redis::connection> result_cache::take() {
  {
    const std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      return conn;
    }
  }
  return std::make_unique<redis::connection>(*where_, cache_timeouts);
}

void result_cache::give_back(std::unique_ptr<redis::connection> conn) {
  const std::lock_guard lock(mutex_);
  if (!conn->broken() && idle_.size() < max_idle_connections) {
    idle_.push_back(std::move(conn));
  }
}

std::string result_cache::get_or_compute(std::int64_t site_id, std::string_view request_key,
                                         bool cacheable,
                                         const std::function<std::string()>& compute) {
  if (!cacheable) {
    return compute();
  }
  std::string key;
  try {
    auto conn = take();
    const auto version = conn->command({"GET", keys_.stats_version(site_id)});
    key = keys_.stats_result(site_id, version.is_nil() ? "0" : version.str,
                             crypto::to_hex(crypto::sha256({request_key})));
    const auto hit = conn->command({"GET", key});
    give_back(std::move(conn));
    if (hit.type == redis::reply::kind::string) {
      return hit.str;
    }
  } catch (const redis::error&) {
    return compute();  // Redis down or slow: no cache
  }
  std::string result = compute();
  try {
    auto conn = take();
    conn->command({"SET", key, result, "EX", std::to_string(entry_ttl_seconds)});
    give_back(std::move(conn));
  } catch (const redis::error&) {
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
