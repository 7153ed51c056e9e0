#pragma once
// The one gate every dashboard route goes through (DESIGN.md §6): authentication (session cookie
// or API key), CSRF and content-type checks on state-changing requests, the caller's role on the
// site a request names, and a database transaction acting as the caller under row-level
// security. Routes are registered with their policy; the authorization matrix test reads the
// policies back and fails for a route that has none.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plumb/core/clock.hpp"
#include "plumb/core/ip_address.hpp"
#include "plumb/events/keys.hpp"
#include "plumb/http/router.hpp"
#include "plumb/json/value.hpp"
#include "plumb/pg/connection.hpp"
#include "plumb/redis/connection.hpp"
#include "plumb/storage/teams.hpp"
#include "plumb/storage/tenants.hpp"
#include "mailer.hpp"
#include "rate_limiter.hpp"
#include "sessions.hpp"

namespace plumb::dashboard {

// Who may call a route. Built with the named constructors below.
struct route_policy {
  bool anyone = false;                           // no sign-in needed (login, sign-up, web files)
  std::optional<storage::site_role> site_role;   // minimum role on the site the request names
  std::optional<storage::api_scope> api_key;     // API keys with this scope may call it as well
  bool shared_link = false;                      // visitors of the {share} link in the path

  static route_policy public_route() { return {true, std::nullopt, std::nullopt, false}; }
  // Any signed-in account, by session cookie only (account settings, API keys, new sites).
  static route_policy signed_in() { return {false, std::nullopt, std::nullopt, false}; }
  // Members of the site named by the {site} path parameter (or ?site_id=) with at least `role`;
  // API keys of such a member with scope `key` too.
  static route_policy on_site(storage::site_role role, std::optional<storage::api_scope> key = std::nullopt) {
    return {false, role, key, false};
  }
  // Signed in by session, or by an API key with scope `key` (creating sites by API).
  static route_policy signed_in_or_key(storage::api_scope key) { return {false, std::nullopt, key, false}; }
  static route_policy shared_link_visitor() { return {false, std::nullopt, std::nullopt, true}; }
};

struct principal {
  enum class kind { anonymous, session, api_key, shared_link };
  kind type = kind::anonymous;
  std::int64_t account_id = 0;
  std::optional<dashboard::session> session;  // account or unlocked shared-link session
  std::int64_t shared_link_id = 0;
};

// What a route handler gets: the request, the caller, the site it named (with the caller's
// role), and a transaction that acts as the caller. The transaction commits when the handler
// answers below 400 and rolls back otherwise.
struct request_context {
  const http::request& req;
  pqxx::work& tx;
  principal who;
  std::optional<storage::site_with_role> site;
  std::vector<std::pair<std::string, std::string>> path;
  json::value body;  // the JSON object sent ({} for an empty body)
  // Runs after COMMIT (publishing the site map must not announce uncommitted changes).
  std::vector<std::function<void()>> after_commit;

  // A {name} path parameter; "" when the route has none of that name.
  std::string path_param(std::string_view name) const;
};

using guarded_handler = std::function<http::response(request_context&)>;

// What handlers need beyond the request; one per process (main.cpp) or test.
struct dashboard_services {
  pg::pool& pg;
  redis::pool& redis;
  events::keys keys;
  session_store& sessions;
  rate_limiter& limits;
  const core::clock& clock;
  mail_sender send_mail;
  std::string public_url;     // the only accepted Origin; base of links
  std::string collector_url;  // tracking snippets
  std::vector<core::cidr> trusted_proxies;
  std::function<void(std::string_view)> warn;  // problems that do not fail the request
};

struct policy_entry {
  http::verb method;
  std::string path;
  route_policy policy;
};

class secure_routes {
 public:
  secure_routes(http::router& routes, dashboard_services& services) : routes_(routes), services_(services) {}

  // Registers a route that runs on the blocking pool behind the gate.
  void add(http::verb method, std::string path, route_policy policy, guarded_handler handler);
  // Records the policy of a route registered directly on the router (static files, /healthz).
  void declare(http::verb method, std::string path, route_policy policy);
  const std::vector<policy_entry>& policies() const { return policies_; }
  dashboard_services& services() { return services_; }

 private:
  http::response handle(const policy_entry& entry, const guarded_handler& handler, const http::request& req);

  http::router& routes_;
  dashboard_services& services_;
  std::vector<policy_entry> policies_;
};

// Handlers are member functions of one API object per area: `bind(&api::fn)` makes a route's
// handler of one, keeping the object alive as long as the routes.
template <typename Api>
auto member_binder(std::shared_ptr<Api> api) {
  return [api](http::response (Api::*fn)(request_context&)) {
    return guarded_handler([api, fn](request_context& ctx) { return ((*api).*fn)(ctx); });
  };
}

// A read-only transaction of its own acting as `who` under row-level security, for work that
// outlives the gate's transaction (streamed exports produce their body after the handler
// returned). Holds a pooled connection while it lives.
class caller_transaction {
 public:
  caller_transaction(pg::pool& pool, const principal& who);
  caller_transaction(const caller_transaction&) = delete;
  caller_transaction& operator=(const caller_transaction&) = delete;
  pqxx::transaction_base& tx() { return tx_; }

 private:
  pg::pool::lease conn_;
  pqxx::read_transaction tx_;
};

// The client address rate limits count (the trusted proxies' X-Forwarded-For, else the peer).
std::string client_address(const dashboard_services& services, const http::request& req);

// Status and field of an answer the gate gave instead of the handler (tests tell them apart
// from handler errors by the field: "authorization", "csrf", "origin", "content_type", "site").
inline constexpr std::string_view denied_field = "authorization";

}  // namespace plumb::dashboard
