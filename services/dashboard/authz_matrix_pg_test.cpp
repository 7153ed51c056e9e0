// The authorization matrix (DESIGN.md §6): every route the dashboard registers × every kind of
// caller × their own and another tenant's site. The expected table below is written by hand,
// independently of the policies in the code: a new route without a row here fails the test.
#include <algorithm>
#include <set>

#include "dashboard_test_fixture.hpp"
#include "plumb/storage/site_config.hpp"
#include "plumb/storage/teams.hpp"

using namespace plumb;
using namespace plumb::dashboard::testing;
using plumb::dashboard::testing::browser;

namespace {

// Who may call a route: "anyone", "account" (any signed-in account), "viewer" / "admin" /
// "owner" (that role or higher on the site in the path), "shared_link" (a visitor of a valid
// shared link); and which API key scopes may call it as well.
struct expectation {
  std::string minimum;
  std::set<std::string> key_scopes;
};

const std::map<std::string, expectation>& expected_policies() {
  static const std::map<std::string, expectation> table{
      {"GET /", {"anyone", {}}},
      // The web app's pages: the same page holding no data (dashboard.cpp).
      {"GET /login", {"anyone", {}}},
      {"GET /signup", {"anyone", {}}},
      {"GET /reset-password", {"anyone", {}}},
      {"GET /invitation", {"anyone", {}}},
      {"GET /account", {"anyone", {}}},
      {"GET /sites", {"anyone", {}}},
      {"GET /sites/{site}", {"anyone", {}}},
      {"GET /sites/{site}/settings", {"anyone", {}}},
      {"GET /share/{share}", {"anyone", {}}},
      {"GET /assets/app.*.js", {"anyone", {}}},
      {"GET /assets/app.*.css", {"anyone", {}}},
      {"GET /healthz", {"anyone", {}}},
      {"GET /metrics", {"anyone", {}}},
      {"POST /api/auth/signup", {"anyone", {}}},
      {"POST /api/auth/login", {"anyone", {}}},
      {"POST /api/auth/password-reset", {"anyone", {}}},
      {"POST /api/auth/password-reset/confirm", {"anyone", {}}},
      {"POST /api/shared/{share}/unlock", {"anyone", {}}},
      {"GET /api/shared/{share}", {"shared_link", {}}},
      {"POST /api/auth/logout", {"account", {}}},
      {"GET /api/auth/session", {"account", {}}},
      {"POST /api/auth/password", {"account", {}}},
      {"GET /api/api-keys", {"account", {}}},
      {"POST /api/api-keys", {"account", {}}},
      {"DELETE /api/api-keys/{key}", {"account", {}}},
      {"POST /api/invitations/accept", {"account", {}}},
      {"GET /api/sites", {"account", {"sites:admin"}}},
      {"POST /api/sites", {"account", {"sites:admin"}}},
      {"GET /api/sites/{site}", {"viewer", {"sites:admin"}}},
      {"PATCH /api/sites/{site}", {"admin", {"sites:admin"}}},
      {"DELETE /api/sites/{site}", {"owner", {"sites:admin"}}},
      {"GET /api/sites/{site}/goals", {"viewer", {"sites:admin"}}},
      {"POST /api/sites/{site}/goals", {"admin", {"sites:admin"}}},
      {"DELETE /api/sites/{site}/goals/{goal}", {"admin", {"sites:admin"}}},
      {"GET /api/sites/{site}/shared-links", {"admin", {"sites:admin"}}},
      {"POST /api/sites/{site}/shared-links", {"admin", {"sites:admin"}}},
      {"DELETE /api/sites/{site}/shared-links/{link}", {"admin", {"sites:admin"}}},
      {"GET /api/sites/{site}/members", {"viewer", {}}},
      {"POST /api/sites/{site}/invitations", {"admin", {}}},
      {"DELETE /api/sites/{site}/invitations/{invitation}", {"admin", {}}},
      {"PATCH /api/sites/{site}/members/{account}", {"owner", {}}},
      {"DELETE /api/sites/{site}/members/{account}", {"admin", {}}},
      {"DELETE /api/sites/{site}/membership", {"viewer", {}}},
      {"GET /api/v1/stats/aggregate", {"viewer", {"stats:read"}}},
      {"GET /api/v1/stats/timeseries", {"viewer", {"stats:read"}}},
      {"GET /api/v1/stats/breakdown", {"viewer", {"stats:read"}}},
      {"GET /api/v1/stats/realtime/visitors", {"viewer", {"stats:read"}}},
      {"GET /api/stats/{site}/top-stats", {"viewer", {"stats:read"}}},
      {"GET /api/stats/{site}/main-graph", {"viewer", {"stats:read"}}},
      {"GET /api/stats/{site}/breakdown", {"viewer", {"stats:read"}}},
      {"GET /api/stats/{site}/export.csv", {"viewer", {"stats:read"}}},
      {"GET /api/stats/{site}/events.csv", {"viewer", {"stats:read"}}},
      {"GET /api/openapi.json", {"anyone", {}}},
      {"GET /api/shared/{share}/top-stats", {"shared_link", {}}},
      {"GET /api/shared/{share}/main-graph", {"shared_link", {}}},
      {"GET /api/shared/{share}/breakdown", {"shared_link", {}}},
  };
  return table;
}

std::string verb_name(http::verb v) {
  switch (v) {
    case http::verb::get: return "GET";
    case http::verb::post: return "POST";
    case http::verb::put: return "PUT";
    case http::verb::patch: return "PATCH";
    case http::verb::delete_: return "DELETE";
    default: return "OTHER";
  }
}

enum class caller { anonymous, other_tenant, stats_key, viewer, admin_key, admin, owner };
constexpr caller all_callers[] = {caller::anonymous, caller::other_tenant, caller::stats_key, caller::viewer,
                                  caller::admin_key,  caller::admin,        caller::owner};

std::string caller_name(caller c) {
  switch (c) {
    case caller::anonymous: return "anonymous";
    case caller::other_tenant: return "another tenant's owner";
    case caller::stats_key: return "owner's stats:read key";
    case caller::viewer: return "viewer";
    case caller::admin_key: return "owner's sites:admin key";
    case caller::admin: return "admin";
    case caller::owner: return "owner";
  }
  return "?";
}

// "GET /api/sites/{site}"; the bundles' content-hashed names as "GET /assets/app.*.js".
std::string route_name(http::verb method, const std::string& path) {
  std::string shown = path;
  if (shown.rfind("/assets/app.", 0) == 0) {
    shown = "/assets/app.*" + shown.substr(shown.rfind('.'));
  }
  return verb_name(method) + " " + shown;
}

int role_rank(const std::string& role) {
  return role == "viewer" ? 1 : role == "admin" ? 2 : role == "owner" ? 3 : 0;
}

// Whether the table lets `c` call a route on the site of tenant "own" (a key is the owner's).
bool allowed(const expectation& e, caller c) {
  if (e.minimum == "anyone" || e.minimum == "shared_link") {
    return true;
  }
  if (c == caller::anonymous) {
    return false;
  }
  if (c == caller::stats_key || c == caller::admin_key) {
    return e.key_scopes.contains(c == caller::stats_key ? "stats:read" : "sites:admin");
  }
  if (e.minimum == "account") {
    return true;
  }
  const int have = c == caller::viewer ? 1 : c == caller::admin ? 2 : c == caller::owner ? 3 : 0;
  return have >= role_rank(e.minimum);
}

// The gate answered instead of the handler (authz.cpp's fields), as opposed to a handler's own
// answer such as a validation error.
bool gate_denied(const http::response& res) {
  const auto fields = error_fields(res);
  const auto has = [&fields](std::string_view f) { return std::find(fields.begin(), fields.end(), f) != fields.end(); };
  return ((res.status == 401 || res.status == 403) &&
          (has(dashboard::denied_field) || has("csrf") || has("origin"))) ||
         (res.status == 404 && has("site"));
}

// Tenant "own" (owner, admin, viewer of own.test) and tenant "other" (owner of other.test),
// with a goal, a shared link and an invitation on each site. Rebuilt before every request, as
// allowed requests delete things.
struct world {
  std::int64_t owner = 0, admin = 0, viewer = 0, other = 0;
};

std::map<std::string, std::string> stock_site(pqxx::work& tx, std::int64_t owner, const std::string& domain,
                                              std::int64_t admin, std::int64_t viewer) {
  auto site = storage::find_site(tx, domain);
  if (!site) {
    site = storage::create_site(tx, owner, domain, "UTC");
  }
  tx.exec_params("DELETE FROM site_memberships WHERE site_id = $1", site->id);
  tx.exec_params("DELETE FROM goals WHERE site_id = $1", site->id);
  tx.exec_params("DELETE FROM invitations WHERE site_id = $1", site->id);
  tx.exec_params("INSERT INTO site_memberships (site_id, account_id, role) VALUES ($1, $2, 'owner')", site->id, owner);
  if (admin != 0) {
    tx.exec_params("INSERT INTO site_memberships (site_id, account_id, role) VALUES ($1, $2, 'admin'), ($1, $3, 'viewer')",
                   site->id, admin, viewer);
  }
  const auto goal = storage::create_goal(tx, site->id, std::string("Signup"), std::nullopt);
  const auto link = storage::create_shared_link(tx, site->id, "public", std::nullopt);
  const auto invitation =
      storage::invite(tx, site->id, "invitee-" + domain + "@example.com", storage::site_role::viewer, owner);
  return {{"site", domain},
          {"goal", std::to_string(goal.id)},
          {"link", std::to_string(link.link.id)},
          {"share", link.token},
          {"invitation", std::to_string(invitation.invitation.id)},
          {"account", std::to_string(viewer != 0 ? viewer : owner)}};
}

std::string fill(std::string pattern, const std::map<std::string, std::string>& params) {
  for (const auto& [name, value] : params) {
    const std::string slot = "{" + name + "}";
    if (const auto at = pattern.find(slot); at != std::string::npos) {
      pattern.replace(at, slot.size(), value);
    }
  }
  return pattern;
}

}  // namespace

TEST_CASE("every registered route has a policy and a row in the expected authorization table") {
  fixture f;
  std::set<std::string> declared;
  for (const auto& entry : f.secure().policies()) {
    declared.insert(route_name(entry.method, entry.path));
  }
  for (const auto& route : f.routes.routes()) {
    const std::string name = route_name(route.method, route.path);
    INFO(name);
    CHECK(declared.contains(name));
    CHECK(expected_policies().contains(name));
  }
  // And the table names no route that does not exist.
  CHECK(expected_policies().size() == f.routes.routes().size());

  // The code's policies say the same as the table.
  for (const auto& entry : f.secure().policies()) {
    const std::string name = route_name(entry.method, entry.path);
    INFO(name);
    REQUIRE(expected_policies().contains(name));
    const auto& e = expected_policies().at(name);
    CHECK(entry.policy.anyone == (e.minimum == "anyone"));
    CHECK(entry.policy.shared_link == (e.minimum == "shared_link"));
    CHECK(role_rank(e.minimum) == (entry.policy.site_role ? static_cast<int>(*entry.policy.site_role) + 1 : 0));
    const std::set<std::string> scopes =
        entry.policy.api_key ? std::set<std::string>{std::string(storage::scope_name(*entry.policy.api_key))}
                             : std::set<std::string>{};
    CHECK(scopes == e.key_scopes);
  }
}

TEST_CASE("authorization matrix: every route x caller x own and other tenant's site") {
  fixture f;
  world w;
  {
    pqxx::work tx(f.owner());
    // Accounts are made once (argon2 is slow); everything else is rebuilt per request.
    w.owner = storage::create_account(tx, "owner@own.test", "a long password").id;
    w.admin = storage::create_account(tx, "admin@own.test", "a long password").id;
    w.viewer = storage::create_account(tx, "viewer@own.test", "a long password").id;
    w.other = storage::create_account(tx, "owner@other.test", "a long password").id;
    tx.commit();
  }
  std::size_t checked = 0;
  for (const auto& route : f.routes.routes()) {
    const std::string name = route_name(route.method, route.path);
    REQUIRE(expected_policies().contains(name));
    const auto& expect = expected_policies().at(name);
    for (const bool other_site : {false, true}) {
      // The Plausible-compatible routes name their site in ?site_id=.
      const bool site_in_query = name.starts_with("GET /api/v1/stats/");
      if (other_site && route.path.find("{site}") == std::string::npos && !site_in_query) {
        continue;  // no site in the request: nothing of another tenant to aim at
      }
      for (const caller c : all_callers) {
        if (other_site && c == caller::other_tenant) {
          continue;  // that site is theirs
        }
        std::map<std::string, std::string> own_params;
        std::map<std::string, std::string> other_params;
        browser b;
        {
          pqxx::work tx(f.owner());
          own_params = stock_site(tx, w.owner, "own.test", w.admin, w.viewer);
          other_params = stock_site(tx, w.other, "other.test", 0, 0);
          if (c == caller::stats_key || c == caller::admin_key) {
            b.bearer = storage::create_api_key(
                tx, w.owner, c == caller::stats_key ? storage::api_scope::stats_read : storage::api_scope::sites_admin);
          }
          own_params["key"] = std::to_string(tx.exec_params1("SELECT max(id) FROM api_keys WHERE account_id = $1",
                                                             w.owner)[0].as<std::int64_t>(0));
          tx.commit();
        }
        switch (c) {
          case caller::other_tenant: b = f.session_for(w.other); break;
          case caller::viewer: b = f.session_for(w.viewer); break;
          case caller::admin: b = f.session_for(w.admin); break;
          case caller::owner: b = f.session_for(w.owner); break;
          default: break;
        }
        const auto& params = other_site ? other_params : own_params;
        std::string target = fill(route.path, params);
        if (site_in_query) {
          target += "?site_id=" + params.at("site") + "&period=day";
        }
        const auto res = f.send(b, route.method, target, route.method == http::verb::get ? "" : "{}");
        // The other tenant's owner aims at our site; our callers aim at the other tenant's.
        const bool should_pass = other_site ? (expect.minimum == "anyone" || expect.minimum == "shared_link")
                                            : allowed(expect, c);
        INFO(name << " as " << caller_name(c) << (other_site ? " on another tenant's site" : "") << " -> "
                  << res.status << " " << res.body);
        CHECK(gate_denied(res) != should_pass);
        CHECK(res.status != 500);
        ++checked;
      }
    }
  }
  CHECK(checked > 200);
}

TEST_CASE("ids of another tenant's keys, goals and links change nothing") {
  fixture f;
  auto mine = f.sign_up("me@example.com");
  auto theirs = f.sign_up("them@example.com");
  f.create_site(mine, "mine.example");
  f.create_site(theirs, "theirs.example");
  const auto my_key = f.api_key(mine, "stats:read");
  const auto goal = f.send(mine, http::verb::post, "/api/sites/mine.example/goals", R"({"event_name":"Signup"})");
  REQUIRE(goal.status == 201);
  const auto goal_id = std::to_string(*json::parse(goal.body)->find("id")->as_int());

  const auto keys = f.send(mine, http::verb::get, "/api/api-keys");
  const auto key_id =
      std::to_string(*(*json::parse(keys.body)->find("api_keys")->as_array())[0].find("id")->as_int());
  CHECK(f.send(theirs, http::verb::delete_, "/api/api-keys/" + key_id).status == 404);
  // Their own site in the path, our goal's id: not found under their site.
  CHECK(f.send(theirs, http::verb::delete_, "/api/sites/theirs.example/goals/" + goal_id).status == 404);

  auto key_browser = my_key;
  CHECK(f.send(key_browser, http::verb::get, "/api/v1/stats/aggregate?site_id=mine.example&period=day").status == 200);
  CHECK(f.send(mine, http::verb::get, "/api/sites/mine.example/goals").body.find("Signup") != std::string::npos);
}
