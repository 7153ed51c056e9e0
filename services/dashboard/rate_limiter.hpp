#pragma once
// Fixed-window attempt counters in Redis (INCR, expiry set by the first attempt). Counters are
// named by an HMAC of the subject (an email, a client address) under the server secret, so
// Redis never holds the address or the email, and names cannot be recomputed without the secret.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "plumb/events/keys.hpp"
#include "plumb/redis/connection.hpp"

namespace plumb::dashboard {

struct rate_limit {
  std::string_view bucket;  // "login-account", "login-client", ...
  std::int64_t max_attempts;
  std::chrono::seconds window;
};

// Logins: 10 tries per account and 50 per client address per 15 minutes. Enough for typos and
// shared office addresses; far too few for guessing (and each try costs an argon2id hash).
inline constexpr rate_limit login_per_account{"login-account", 10, std::chrono::minutes(15)};
inline constexpr rate_limit login_per_client{"login-client", 50, std::chrono::minutes(15)};
// Other expensive or mail-sending requests without a session: sign-ups, reset mails, shared
// link passwords, per client address.
inline constexpr rate_limit anonymous_per_client{"anonymous-client", 20, std::chrono::minutes(15)};

class rate_limiter {
 public:
  rate_limiter(redis::pool& redis, events::keys keys, std::string secret)
      : redis_(redis), keys_(std::move(keys)), secret_(std::move(secret)) {}

  // Counts one attempt by `subject`; returns how long to wait when it is over the limit, or
  // zero when it may proceed.
  std::chrono::seconds attempt(const rate_limit& limit, std::string_view subject);
  // Forgets `subject`'s attempts (a successful login clears its account's counter).
  void reset(const rate_limit& limit, std::string_view subject);

 private:
  std::string key(const rate_limit& limit, std::string_view subject) const;

  redis::pool& redis_;
  events::keys keys_;
  std::string secret_;
};

}  // namespace plumb::dashboard
