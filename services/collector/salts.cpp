#include "salts.hpp"

#include <algorithm>
#include <cstdio>

#include "plumb/crypto/crypto.hpp"

namespace plumb::collector {
namespace {

using days = std::chrono::days;

std::string format_date(std::chrono::sys_days day) {
  const std::chrono::year_month_day ymd(day);
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return text;
}

}  // namespace

std::string utc_date(core::time_point t) {
  return format_date(std::chrono::floor<days>(t));
}

std::uint64_t visitor_hash(std::string_view salt, std::int64_t site_id, std::string_view ip,
                           std::string_view user_agent) {
  char site_bytes[8];
  for (int i = 0; i < 8; ++i) {
    site_bytes[i] = static_cast<char>(static_cast<std::uint64_t>(site_id) >> (56 - 8 * i));
  }
  const auto digest = crypto::sha256({salt, std::string_view(site_bytes, 8), ip, user_agent});
  std::uint64_t out = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    out = (out << 8) | digest[i];
  }
  return out;
}

void salt_store::refresh(redis::connection& redis, const events::keys& keys, core::time_point now) {
  const auto today = std::chrono::floor<days>(now);
  std::map<std::chrono::sys_days, salt> loaded;
  for (const auto day : {today - days(1), today, today + days(1)}) {
    const std::string date = format_date(day);
    const std::string key = keys.daily_salt(date);
    // Deleted when the day after `day` ends: visits may continue across one midnight, no more.
    const auto expires = std::chrono::duration_cast<std::chrono::seconds>(
                             (day + days(2)).time_since_epoch())
                             .count();
    if (day != today - days(1)) {  // never create a salt for a day that is already over
      const auto set = redis.command({"SET", key, crypto::random_bytes(salt_bytes), "NX", "EXAT",
                                      std::to_string(expires)});
      if (set.is_error()) {
        throw redis::error("creating the daily salt failed: " + set.str);
      }
    }
    const auto value = redis.command({"GET", key});
    if (value.is_error()) {
      throw redis::error("reading the daily salt failed: " + value.str);
    }
    if (!value.is_nil() && value.str.size() == salt_bytes) {
      std::copy(value.str.begin(), value.str.end(), loaded[day].begin());
    }
  }
  const std::lock_guard lock(mutex_);
  by_day_ = std::move(loaded);
}

std::optional<visitor_hashes> salt_store::hashes(std::int64_t site_id, std::string_view ip,
                                                 std::string_view user_agent,
                                                 core::time_point received) const {
  const auto day = std::chrono::floor<days>(received);
  std::optional<salt> today;
  std::optional<salt> previous;
  {
    const std::lock_guard lock(mutex_);
    if (const auto it = by_day_.find(day); it != by_day_.end()) {
      today = it->second;
    }
    if (const auto it = by_day_.find(day - days(1)); it != by_day_.end()) {
      previous = it->second;
    }
  }
  if (!today) {
    return std::nullopt;
  }
  auto view = [](const salt& s) { return std::string_view(s.data(), s.size()); };
  visitor_hashes out;
  out.today = visitor_hash(view(*today), site_id, ip, user_agent);
  if (previous) {
    out.previous = visitor_hash(view(*previous), site_id, ip, user_agent);
  }
  return out;
}

void salt_store::set(std::chrono::sys_days day, std::string_view value) {
  salt s{};
  std::copy_n(value.begin(), std::min(value.size(), s.size()), s.begin());
  const std::lock_guard lock(mutex_);
  by_day_[day] = s;
}

}  // namespace plumb::collector
