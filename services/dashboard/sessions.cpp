#include "sessions.hpp"

#include <stdexcept>

#include "plumb/core/text.hpp"
#include "plumb/crypto/crypto.hpp"

namespace plumb::dashboard {
namespace {

constexpr std::size_t token_bytes = 32;

std::string hash_of(std::string_view token) {
  return crypto::to_hex(crypto::sha256({token}));
}

std::int64_t to_int(const std::string& text) {
  try {
    return std::stoll(text);
  } catch (const std::exception&) {
    return 0;
  }
}

void check(const redis::reply& reply) {
  if (reply.is_error()) {
    throw redis::error("session command failed: " + reply.str);
  }
}

}  // namespace

session_store::started session_store::start(std::int64_t account_id, std::int64_t shared_link_id) {
  started s{crypto::to_hex(crypto::random_bytes(token_bytes)), {}};
  s.session = {hash_of(s.token), account_id, shared_link_id, crypto::to_hex(crypto::random_bytes(token_bytes))};
  const auto now = std::to_string(core::unix_ms(clock_.now()));
  const auto key = keys_.session(s.session.token_hash);
  std::vector<std::vector<std::string>> commands{
      {"HSET", key, "account", std::to_string(account_id), "link", std::to_string(shared_link_id), "csrf",
       s.session.csrf_token, "started", now, "seen", now},
      {"PEXPIRE", key, std::to_string(timeouts_.idle.count())}};
  if (account_id != 0) {
    const auto index = keys_.account_sessions(account_id);
    commands.push_back({"SADD", index, s.session.token_hash});
    commands.push_back({"PEXPIRE", index, std::to_string(timeouts_.absolute.count())});
  }
  auto conn = redis_.acquire();
  for (const auto& reply : conn->pipeline(commands)) {
    check(reply);
  }
  return s;
}

session_store::started session_store::start_for_account(std::int64_t account_id) {
  return start(account_id, 0);
}

session_store::started session_store::start_for_shared_link(std::int64_t shared_link_id) {
  return start(0, shared_link_id);
}

std::optional<session> session_store::find(std::string_view token) {
  if (token.size() != token_bytes * 2) {
    return std::nullopt;
  }
  const auto token_hash = hash_of(token);
  const auto key = keys_.session(token_hash);
  auto conn = redis_.acquire();
  const auto reply = conn->command({"HGETALL", key});
  check(reply);
  std::string account;
  std::string link;
  std::string csrf;
  std::string started_ms;
  std::string seen_ms;
  for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    const auto& field = reply.elements[i].str;
    const auto& value = reply.elements[i + 1].str;
    if (field == "account") {
      account = value;
    } else if (field == "link") {
      link = value;
    } else if (field == "csrf") {
      csrf = value;
    } else if (field == "started") {
      started_ms = value;
    } else if (field == "seen") {
      seen_ms = value;
    }
  }
  if (csrf.empty()) {
    return std::nullopt;
  }
  // Redis expiry enforces the idle timeout too; checking here keeps it exact and testable.
  const std::int64_t now = core::unix_ms(clock_.now());
  const std::int64_t age = now - to_int(started_ms);
  if (age > timeouts_.absolute.count() || now - to_int(seen_ms) > timeouts_.idle.count()) {
    check(conn->command({"DEL", key}));
    return std::nullopt;
  }
  const auto remaining = std::min<std::int64_t>(timeouts_.idle.count(), timeouts_.absolute.count() - age);
  for (const auto& r : conn->pipeline({{"HSET", key, "seen", std::to_string(now)},
                                       {"PEXPIRE", key, std::to_string(std::max<std::int64_t>(remaining, 1))}})) {
    check(r);
  }
  return session{token_hash, to_int(account), to_int(link), csrf};
}

void session_store::end(const session& s) {
  auto conn = redis_.acquire();
  check(conn->command({"DEL", keys_.session(s.token_hash)}));
  if (s.account_id != 0) {
    check(conn->command({"SREM", keys_.account_sessions(s.account_id), s.token_hash}));
  }
}

void session_store::end_all(std::int64_t account_id) {
  const auto index = keys_.account_sessions(account_id);
  auto conn = redis_.acquire();
  const auto members = conn->command({"SMEMBERS", index});
  check(members);
  std::vector<std::vector<std::string>> commands;
  for (const auto& member : members.elements) {
    commands.push_back({"DEL", keys_.session(member.str)});
  }
  commands.push_back({"DEL", index});
  for (const auto& reply : conn->pipeline(commands)) {
    check(reply);
  }
}

std::optional<std::string> cookie_value(const http::request& req, std::string_view name) {
  for (const auto& h : req.headers) {
    if (!core::iequals(h.name, "cookie")) {
      continue;
    }
    std::string_view rest = h.value;
    while (!rest.empty()) {
      const auto semicolon = rest.find(';');
      const auto pair = core::trim(rest.substr(0, semicolon));
      rest = semicolon == std::string_view::npos ? std::string_view() : rest.substr(semicolon + 1);
      const auto eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
        return std::string(pair.substr(eq + 1));
      }
    }
  }
  return std::nullopt;
}

std::string session_cookie_header(std::string_view name, std::string_view token, std::chrono::milliseconds lifetime) {
  return std::string(name) + "=" + std::string(token) + "; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=" +
         std::to_string(std::chrono::duration_cast<std::chrono::seconds>(lifetime).count());
}

std::string expired_cookie_header(std::string_view name) {
  return std::string(name) + "=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0";
}

}  // namespace plumb::dashboard
