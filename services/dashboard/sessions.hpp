#pragma once
// Sign-in sessions in Redis, behind a __Host- cookie (Secure, HttpOnly, SameSite=Lax, Path=/).
// The cookie holds 32 random bytes; Redis holds only their SHA-256, so a copy of Redis signs no
// one in. A session ends when unused for `idle`, `absolute` after it began, at logout, or when
// its account's sessions are revoked (password change or reset). A password-protected shared
// link, once unlocked, gets a session of its own in a second cookie.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "plumb/core/clock.hpp"
#include "plumb/events/keys.hpp"
#include "plumb/http/message.hpp"
#include "plumb/redis/connection.hpp"

namespace plumb::dashboard {

inline constexpr std::string_view session_cookie = "__Host-plumb_session";
inline constexpr std::string_view shared_link_cookie = "__Host-plumb_share";
// The same unlock, sent by the shared page itself (kept in its sessionStorage): a shared link
// framed by another site gets no SameSite=Lax cookie, and a SameSite=None one would follow
// requests any site makes. Only the page's own script can send this header.
inline constexpr std::string_view shared_link_unlock_header = "X-Plumb-Unlock";

struct session {
  std::string token_hash;           // hex SHA-256 of the cookie value
  std::int64_t account_id = 0;      // 0 for a shared-link session
  std::int64_t shared_link_id = 0;  // 0 for an account session
  std::string csrf_token;           // sent back in X-CSRF-Token on state-changing requests
};

struct session_timeouts {
  std::chrono::milliseconds idle;
  std::chrono::milliseconds absolute;
};

class session_store {
 public:
  session_store(redis::pool& redis, events::keys keys, const core::clock& clock, session_timeouts timeouts)
      : redis_(redis), keys_(std::move(keys)), clock_(clock), timeouts_(timeouts) {}

  struct started {
    std::string token;  // the cookie value
    plumb::dashboard::session session;
  };
  // A new session with a fresh id and CSRF token: every login gets a new id (no fixation).
  started start_for_account(std::int64_t account_id);
  started start_for_shared_link(std::int64_t shared_link_id);
  session_timeouts timeouts() const { return timeouts_; }
  // The live session for a cookie value (and marks it used), or nullopt.
  std::optional<session> find(std::string_view token);
  void end(const session& s);
  // Ends every session of the account (password changed or reset).
  void end_all(std::int64_t account_id);

 private:
  started start(std::int64_t account_id, std::int64_t shared_link_id);

  redis::pool& redis_;
  events::keys keys_;
  const core::clock& clock_;
  session_timeouts timeouts_;
};

// The value of cookie `name` in the request's Cookie headers, if any.
std::optional<std::string> cookie_value(const http::request& req, std::string_view name);
// Set-Cookie values: the session cookie, and one that deletes it.
std::string session_cookie_header(std::string_view name, std::string_view token, std::chrono::milliseconds lifetime);
std::string expired_cookie_header(std::string_view name);

}  // namespace plumb::dashboard
