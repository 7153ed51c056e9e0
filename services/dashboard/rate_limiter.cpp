#include "rate_limiter.hpp"

#include "plumb/crypto/crypto.hpp"

namespace plumb::dashboard {

std::string rate_limiter::key(const rate_limit& limit, std::string_view subject) const {
  // The bucket is part of the message: one subject's counters in two buckets are unrelated.
  const std::string message = std::string(limit.bucket) + '\0' + std::string(subject);
  return keys_.rate_limit(limit.bucket, crypto::to_hex(crypto::hmac_sha256(secret_, message)));
}

std::chrono::seconds rate_limiter::attempt(const rate_limit& limit, std::string_view subject) {
  const auto counter = key(limit, subject);
  auto conn = redis_.acquire();
  // EXPIRE NX: only the window's first attempt starts the clock (Redis 7).
  const auto replies = conn->pipeline({{"INCR", counter},
                                       {"EXPIRE", counter, std::to_string(limit.window.count()), "NX"},
                                       {"TTL", counter}});
  for (const auto& reply : replies) {
    if (reply.is_error()) {
      throw redis::error("rate limit counter failed: " + reply.str);
    }
  }
  if (replies[0].integer <= limit.max_attempts) {
    return std::chrono::seconds(0);
  }
  return std::chrono::seconds(std::max<std::int64_t>(replies[2].integer, 1));
}

void rate_limiter::reset(const rate_limit& limit, std::string_view subject) {
  auto conn = redis_.acquire();
  const auto reply = conn->command({"DEL", key(limit, subject)});
  if (reply.is_error()) {
    throw redis::error("rate limit reset failed: " + reply.str);
  }
}

}  // namespace plumb::dashboard
