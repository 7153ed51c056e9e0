#include "accounts_api.hpp"

#include "json_body.hpp"
#include "plumb/core/text.hpp"
#include "plumb/crypto/crypto.hpp"
#include "plumb/json/writer.hpp"
#include "plumb/storage/tenancy.hpp"

namespace plumb::dashboard {
namespace {

using storage::api_scope;

// How long a password reset link works.
constexpr std::chrono::seconds reset_lifetime{3'600};
constexpr std::size_t reset_token_bytes = 32;

http::response too_many(std::chrono::seconds wait) {
  return http::response::errors(429, {{"rate_limit", "too many attempts; try again later"}})
      .with_header("Retry-After", std::to_string(wait.count()));
}

std::string account_json(std::int64_t id, const std::string& email, const std::string& csrf_token) {
  json::writer w;
  w.begin_object().key("account").begin_object().key("id").value(id).key("email").value(email).end_object();
  w.key("csrf_token").value(csrf_token).end_object();
  return std::move(w).str();
}

// A signed-in answer: the account, its new session's CSRF token and the cookie.
http::response signed_in(session_store& sessions, unsigned status, std::int64_t account_id, const std::string& email) {
  const auto started = sessions.start_for_account(account_id);
  return http::response::json(status, account_json(account_id, email, started.session.csrf_token))
      .with_header("Set-Cookie",
                   session_cookie_header(session_cookie, started.token, sessions.timeouts().absolute));
}

// Binds a reset token to the password it replaces: once the password changes, older tokens fail.
std::string password_fingerprint(const std::string& password_hash) {
  return crypto::to_hex(crypto::sha256({password_hash})).substr(0, 32);
}

class accounts_api {
 public:
  explicit accounts_api(dashboard_services& services) : s_(services) {
    // Unknown emails are checked against this hash, so they cost what a wrong password costs.
    unknown_account_hash_ = crypto::hash_password(crypto::to_hex(crypto::random_bytes(16)));
  }

  http::response sign_up(request_context& ctx) {
    if (const auto wait = s_.limits.attempt(anonymous_per_client, client_address(s_, ctx.req)); wait.count() > 0) {
      return too_many(wait);
    }
    const auto account = storage::create_account(ctx.tx, required_string(ctx.body, "email"),
                                                 required_string(ctx.body, "password"));
    end_current_session(ctx);
    return signed_in(s_.sessions, 201, account.id, account.email);
  }

  http::response login(request_context& ctx) {
    const std::string email = required_string(ctx.body, "email");
    const std::string password = required_string(ctx.body, "password");
    const auto client_wait = s_.limits.attempt(login_per_client, client_address(s_, ctx.req));
    const auto account_wait = s_.limits.attempt(login_per_account, core::ascii_lower(email));
    if (client_wait.count() > 0 || account_wait.count() > 0) {
      return too_many(std::max(client_wait, account_wait));
    }
    const auto credentials = storage::find_credentials(ctx.tx, email);
    // The same work and the same answer whether the account exists or the password is wrong.
    const bool valid = crypto::verify_password(credentials ? credentials->password_hash : unknown_account_hash_,
                                               password);
    if (!credentials || !valid) {
      return http::response::errors(401, {{"credentials", "email or password is incorrect"}});
    }
    s_.limits.reset(login_per_account, core::ascii_lower(email));
    end_current_session(ctx);  // a fresh session id on every login: no fixation
    return signed_in(s_.sessions, 200, credentials->id, core::ascii_lower(core::trim(email)));
  }

  http::response logout(request_context& ctx) {
    s_.sessions.end(*ctx.who.session);
    return http::response::text(204, "").with_header("Set-Cookie", expired_cookie_header(session_cookie));
  }

  http::response current_session(request_context& ctx) {
    const auto account = storage::find_account(ctx.tx, ctx.who.account_id);
    if (!account) {
      return http::response::errors(401, {{std::string(denied_field), "sign in first"}});
    }
    return http::response::json(200, account_json(account->id, account->email, ctx.who.session->csrf_token));
  }

  http::response change_password(request_context& ctx) {
    const std::string current = required_string(ctx.body, "current_password");
    const std::string replacement = required_string(ctx.body, "new_password");
    if (!crypto::verify_password(storage::password_hash(ctx.tx, ctx.who.account_id), current)) {
      return http::response::errors(400, {{"current_password", "is not your current password"}});
    }
    storage::set_password(ctx.tx, ctx.who.account_id, replacement);
    // Every session ends, this one too; this browser gets a new one.
    s_.sessions.end_all(ctx.who.account_id);
    const auto account = storage::find_account(ctx.tx, ctx.who.account_id);
    return signed_in(s_.sessions, 200, account->id, account->email);
  }

  http::response request_password_reset(request_context& ctx) {
    const std::string email = required_string(ctx.body, "email");
    if (const auto wait = s_.limits.attempt(anonymous_per_client, client_address(s_, ctx.req)); wait.count() > 0) {
      return too_many(wait);
    }
    // 202 whether or not the account exists: the answer reveals no accounts.
    if (const auto credentials = storage::find_credentials(ctx.tx, email)) {
      const std::string token = crypto::to_hex(crypto::random_bytes(reset_token_bytes));
      auto conn = s_.redis.acquire();
      const auto reply = conn->command({"SET", s_.keys.password_reset(crypto::to_hex(crypto::sha256({token}))),
                                        std::to_string(credentials->id) + ":" +
                                            password_fingerprint(credentials->password_hash),
                                        "EX", std::to_string(reset_lifetime.count())});
      if (reply.is_error()) {
        throw redis::error("storing a reset token failed: " + reply.str);
      }
      s_.send_mail({core::ascii_lower(core::trim(email)), "Reset your Plumb password",
                    s_.public_url + "/reset-password#token=" + token});
    }
    return http::response::json(202, "{}");
  }

  http::response reset_password(request_context& ctx) {
    const std::string token = required_string(ctx.body, "token");
    const std::string password = required_string(ctx.body, "new_password");
    storage::validate_password(password);  // before the single-use token is spent
    auto conn = s_.redis.acquire();
    // GETDEL: the token works once, even when two requests race.
    const auto reply = conn->command({"GETDEL", s_.keys.password_reset(crypto::to_hex(crypto::sha256({token})))});
    const auto colon = reply.str.find(':');
    if (reply.type != redis::reply::kind::string || colon == std::string::npos) {
      return http::response::errors(400, {{"token", "invalid or expired reset link"}});
    }
    const std::int64_t account_id = std::stoll(reply.str.substr(0, colon));
    storage::act_as_account(ctx.tx, account_id);
    if (password_fingerprint(storage::password_hash(ctx.tx, account_id)) != reply.str.substr(colon + 1)) {
      return http::response::errors(400, {{"token", "invalid or expired reset link"}});
    }
    storage::set_password(ctx.tx, account_id, password);
    ctx.after_commit.push_back([this, account_id] { s_.sessions.end_all(account_id); });
    return http::response::text(204, "");
  }

  http::response list_api_keys(request_context& ctx) {
    return list_response("api_keys", storage::api_keys_of(ctx.tx, ctx.who.account_id),
                         [](json::writer& w, const storage::api_key_summary& key) {
                           w.begin_object().key("id").value(key.id).key("name").value(key.name);
                           w.key("prefix").value(key.prefix).key("scope").value(storage::scope_name(key.scope));
                           w.key("created_at").value(key.created_at).end_object();
                         });
  }

  http::response create_api_key(request_context& ctx) {
    const auto scope = storage::parse_scope(optional_string(ctx.body, "scope").value_or("stats:read"));
    if (!scope) {
      return http::response::errors(400, {{"scope", "scope must be stats:read or sites:admin"}});
    }
    const std::string name = optional_string(ctx.body, "name").value_or("");
    const std::string key = storage::create_api_key(ctx.tx, ctx.who.account_id, *scope, name);
    json::writer w;
    w.begin_object().key("key").value(key).key("name").value(name).key("scope").value(storage::scope_name(*scope));
    w.key("notice").value("the key is shown only now; store it safely").end_object();
    return http::response::json(201, std::move(w).str());
  }

  http::response revoke_api_key(request_context& ctx) {
    const auto id = id_param(ctx, "key");
    if (!id || !storage::revoke_api_key(ctx.tx, ctx.who.account_id, *id)) {
      return http::response::errors(404, {{"key", "no such API key"}});
    }
    return http::response::text(204, "");
  }

  http::response accept_invitation(request_context& ctx) {
    const auto site = storage::accept_invitation(ctx.tx, ctx.who.account_id, required_string(ctx.body, "token"));
    if (!site) {
      return http::response::errors(404, {{"invitation", "no such invitation for this account (or it expired)"}});
    }
    json::writer w;
    w.begin_object().key("domain").value(site->site.domain).key("role").value(storage::role_name(site->role));
    w.end_object();
    return http::response::json(200, std::move(w).str());
  }

 private:
  // Signing in (or up) again from a browser that had a session ends that one.
  void end_current_session(const request_context& ctx) {
    if (const auto cookie = cookie_value(ctx.req, session_cookie)) {
      if (const auto old = s_.sessions.find(*cookie)) {
        s_.sessions.end(*old);
      }
    }
  }

  dashboard_services& s_;
  std::string unknown_account_hash_;
};

}  // namespace

void add_account_routes(secure_routes& routes) {
  using http::verb;
  auto api = std::make_shared<accounts_api>(routes.services());
  const auto bind = member_binder(api);
  const auto anyone = route_policy::public_route();
  const auto account = route_policy::signed_in();
  routes.add(verb::post, "/api/auth/signup", anyone, bind(&accounts_api::sign_up));
  routes.add(verb::post, "/api/auth/login", anyone, bind(&accounts_api::login));
  routes.add(verb::post, "/api/auth/password-reset", anyone, bind(&accounts_api::request_password_reset));
  routes.add(verb::post, "/api/auth/password-reset/confirm", anyone, bind(&accounts_api::reset_password));
  routes.add(verb::post, "/api/auth/logout", account, bind(&accounts_api::logout));
  routes.add(verb::get, "/api/auth/session", account, bind(&accounts_api::current_session));
  routes.add(verb::post, "/api/auth/password", account, bind(&accounts_api::change_password));
  routes.add(verb::get, "/api/api-keys", account, bind(&accounts_api::list_api_keys));
  routes.add(verb::post, "/api/api-keys", account, bind(&accounts_api::create_api_key));
  routes.add(verb::delete_, "/api/api-keys/{key}", account, bind(&accounts_api::revoke_api_key));
  routes.add(verb::post, "/api/invitations/accept", account, bind(&accounts_api::accept_invitation));
}

}  // namespace plumb::dashboard
