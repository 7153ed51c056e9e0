#include "authz.hpp"

#include "plumb/core/text.hpp"
#include "plumb/crypto/crypto.hpp"
#include "plumb/http/client_address.hpp"
#include "plumb/storage/site_config.hpp"
#include "plumb/storage/tenancy.hpp"

namespace plumb::dashboard {
namespace {

// Longest ?site_id= we look at; longer is no domain anyway.
constexpr std::size_t max_site_parameter_bytes = 300;

using field_errors = std::vector<std::pair<std::string, std::string>>;

http::response denied(unsigned status, std::string message) {
  return http::response::errors(status, {{std::string(denied_field), std::move(message)}});
}

http::response no_such_site() {
  // The same answer for a site that does not exist and one of another tenant: no oracle.
  return http::response::errors(404, {{"site", "no such site"}});
}

bool changes_state(http::verb method) {
  return method == http::verb::post || method == http::verb::put || method == http::verb::patch ||
         method == http::verb::delete_;
}

bool is_json(const http::request& req) {
  const auto type = req.header_value("content-type");
  if (!type) {
    return false;
  }
  const auto media = core::trim(type->substr(0, type->find(';')));
  return core::iequals(media, "application/json");
}

std::optional<std::string> bearer_token(const http::request& req) {
  const auto header = req.header_value("authorization");
  constexpr std::string_view scheme = "Bearer ";
  if (!header || header->size() <= scheme.size() || !core::istarts_with(*header, scheme)) {
    return std::nullopt;
  }
  return std::string(core::trim(header->substr(scheme.size())));
}

// The domain a site route names: its {site} path parameter, or the Stats API's ?site_id=.
std::string site_named(const http::request& req, const std::vector<std::pair<std::string, std::string>>& path) {
  for (const auto& [name, value] : path) {
    if (name == "site") {
      return value;
    }
  }
  for (const auto& [name, value] : http::parse_query(req.query)) {
    if (name == "site_id") {
      return value.substr(0, max_site_parameter_bytes);
    }
  }
  return {};
}


// Each step of the gate returns the answer that stops the request, or nullopt to go on.
using verdict = std::optional<http::response>;

// State-changing requests carry JSON (a form post, the one cross-site request browsers send
// without asking, is refused); an empty DELETE body is fine.
verdict read_json_body(const http::request& req, json::value& body) {
  if (!changes_state(req.method) || (req.body.empty() && req.method == http::verb::delete_)) {
    return std::nullopt;
  }
  if (!is_json(req)) {
    return http::response::errors(415, {{"content_type", "send the body as application/json"}});
  }
  if (!req.body.empty()) {
    auto parsed = json::parse(req.body);
    if (!parsed || !parsed->is_object()) {
      return http::response::errors(400, {{"body", "must be a JSON object"}});
    }
    body = std::move(*parsed);
  }
  return std::nullopt;
}

// Who is calling: an API key when one is sent, else the session cookie. Public routes ignore
// both (logging in with a stale or planted cookie must work); shared-link routes ignore keys.
verdict authenticate(const route_policy& policy, dashboard_services& services, request_context& ctx) {
  if (policy.anyone) {
    return std::nullopt;
  }
  if (const auto token = bearer_token(ctx.req); token && !policy.shared_link) {
    const auto key = storage::find_api_key(ctx.tx, *token);
    if (!key) {
      return denied(401, "invalid or revoked API key").with_header("WWW-Authenticate", "Bearer");
    }
    if (!policy.api_key || *policy.api_key != key->scope) {
      return denied(403, policy.api_key ? "this endpoint needs an API key with scope " +
                                              std::string(storage::scope_name(*policy.api_key))
                                        : "API keys cannot use this endpoint; sign in");
    }
    ctx.who = {principal::kind::api_key, key->account_id, std::nullopt, 0};
  } else if (const auto cookie = cookie_value(ctx.req, session_cookie)) {
    if (auto s = services.sessions.find(*cookie); s && s->account_id != 0) {
      ctx.who = {principal::kind::session, s->account_id, std::move(s), 0};
    }
  }
  return std::nullopt;
}

// Cross-site request forgery: browsers attach cookies to requests any page sends, but only our
// pages can send our Origin, and only they can read the session's CSRF token. API keys are
// never sent by browsers on their own, so they need neither.
verdict check_forgery(const dashboard_services& services, const request_context& ctx) {
  if (!changes_state(ctx.req.method) || ctx.who.type == principal::kind::api_key) {
    return std::nullopt;
  }
  if (ctx.req.header_value("origin").value_or("") != services.public_url) {
    return http::response::errors(403, {{"origin", "cross-origin request refused"}});
  }
  if (ctx.who.type == principal::kind::session &&
      !crypto::constant_time_equal(ctx.req.header_value("x-csrf-token").value_or(""), ctx.who.session->csrf_token)) {
    return http::response::errors(403, {{"csrf", "missing or wrong X-CSRF-Token header"}});
  }
  return std::nullopt;
}

// A shared link's visitor: the link must exist, and be unlocked when it has a password.
verdict admit_link_visitor(dashboard_services& services, request_context& ctx) {
  const auto link = storage::find_shared_link(ctx.tx, ctx.path_param("share"));
  if (!link) {
    return no_such_site();
  }
  if (link->password_hash) {
    const auto header = ctx.req.header_value(shared_link_unlock_header);
    const auto token = header ? std::optional<std::string>(*header) : cookie_value(ctx.req, shared_link_cookie);
    const auto unlocked = token ? services.sessions.find(*token) : std::nullopt;
    if (!unlocked || unlocked->shared_link_id != link->id) {
      return denied(401, "this shared link needs its password");
    }
  }
  ctx.who = {principal::kind::shared_link, 0, std::nullopt, link->id};
  storage::act_as_shared_link(ctx.tx, link->id);
  const auto site = storage::find_site_by_id(ctx.tx, link->site_id);
  if (!site) {
    return no_such_site();
  }
  ctx.site = storage::site_with_role{*site, storage::site_role::viewer};
  return std::nullopt;
}

// The caller's role on the site the request names, against the route's minimum.
verdict check_site_role(storage::site_role minimum, request_context& ctx) {
  const std::string domain = site_named(ctx.req, ctx.path);
  if (domain.empty()) {
    return http::response::errors(400, {{"site_id", "is required (the site's domain)"}});
  }
  const auto site = storage::find_site(ctx.tx, domain);
  const auto role = site ? storage::role_on(ctx.tx, site->id, ctx.who.account_id) : std::nullopt;
  if (!role) {
    return no_such_site();
  }
  if (*role < minimum) {
    return denied(403, "this needs the " + std::string(storage::role_name(minimum)) + " role on the site; yours is " +
                           std::string(storage::role_name(*role)));
  }
  ctx.site = storage::site_with_role{*site, *role};
  return std::nullopt;
}

}  // namespace

std::string request_context::path_param(std::string_view name) const {
  for (const auto& [key, value] : path) {
    if (key == name) {
      return value;
    }
  }
  return {};
}

std::string client_address(const dashboard_services& services, const http::request& req) {
  return http::client_address(req.peer_address, req.header_value("x-forwarded-for"), services.trusted_proxies);
}

void secure_routes::declare(http::verb method, std::string path, route_policy policy) {
  policies_.push_back({method, std::move(path), policy});
}

void secure_routes::add(http::verb method, std::string path, route_policy policy, guarded_handler handler) {
  declare(method, path, policy);
  routes_.add(
      method, path,
      [this, entry = policies_.back(), handler = std::move(handler)](const http::request& req) {
        return handle(entry, handler, req);
      },
      http::dispatch::blocking);
}

http::response secure_routes::handle(const policy_entry& entry, const guarded_handler& handler,
                                     const http::request& req) {
  const route_policy& policy = entry.policy;
  json::value body{json::object{}};
  if (auto stop = read_json_body(req, body)) {
    return std::move(*stop);
  }
  auto conn = services_.pg.acquire();
  pqxx::work tx(*conn);
  request_context ctx{req, tx, {}, std::nullopt, *http::path_parameters(entry.path, req.path), std::move(body), {}};
  if (auto stop = authenticate(policy, services_, ctx)) {
    return std::move(*stop);
  }
  if (auto stop = check_forgery(services_, ctx)) {
    return std::move(*stop);
  }
  if (policy.shared_link) {
    if (auto stop = admit_link_visitor(services_, ctx)) {
      return std::move(*stop);
    }
  } else if (!policy.anyone) {
    if (ctx.who.type == principal::kind::anonymous) {
      if (policy.api_key) {
        return denied(401, "sign in, or send an API key as 'Authorization: Bearer <key>'")
            .with_header("WWW-Authenticate", "Bearer");
      }
      return denied(401, "sign in first");
    }
    storage::act_as_account(tx, ctx.who.account_id);
  }
  if (policy.site_role) {
    if (auto stop = check_site_role(*policy.site_role, ctx)) {
      return std::move(*stop);
    }
  }

  http::response res;
  try {
    res = handler(ctx);
  } catch (const storage::already_exists& e) {
    return http::response::errors(409, {{e.field(), e.what()}});
  } catch (const storage::invalid_input& e) {
    return http::response::errors(400, {{e.field(), e.what()}});
  }
  if (res.status >= 400) {
    return res;  // the transaction rolls back
  }
  tx.commit();
  for (const auto& action : ctx.after_commit) {
    action();
  }
  return res;
}

caller_transaction::caller_transaction(pg::pool& pool, const principal& who)
    : conn_(pool.acquire()), tx_(*conn_) {
  if (who.type == principal::kind::shared_link) {
    storage::act_as_shared_link(tx_, who.shared_link_id);
  } else {
    storage::act_as_account(tx_, who.account_id);
  }
}

}  // namespace plumb::dashboard
