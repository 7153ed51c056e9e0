#pragma once
// The whole dashboard route table on a fresh database (as the plumb_dashboard role) and a
// private Redis key prefix, driven without a network: requests go straight to the router.

#include <catch2/catch.hpp>
#include <map>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "dashboard.hpp"
#include "plumb/json/value.hpp"
#include "plumb/storage/migrations.hpp"
#include "plumb/storage/tenants.hpp"
#include "plumb/test_support/environment.hpp"

namespace plumb::dashboard::testing {

inline constexpr std::string_view origin = "https://plumb.test";
inline constexpr std::string_view password = "a long password";

// A browser: its cookies and the CSRF token of its session.
struct browser {
  std::map<std::string, std::string> cookies;
  std::string csrf_token;
  std::string bearer;  // an API key instead of cookies, when set
};

class fixture {
 public:
  fixture()
      : owner_conn_(db_.dsn()),
        migrated_((storage::migrate(owner_conn_), true)),
        pg_({test_support::as_dashboard_role(db_.dsn()), std::chrono::milliseconds(10'000), "dashboard-test"}, 4),
        redis_(*redis::endpoint::parse_url(test_support::redis_url()), 4),
        keys_(test_support::unique_name("dash:") + ":"),
        sessions_(redis_, keys_, clock, {std::chrono::hours(1), std::chrono::hours(24)}),
        limits_(redis_, keys_, "test-secret-test-secret-test-secret"),
        services_{pg_,
                  redis_,
                  keys_,
                  sessions_,
                  limits_,
                  clock,
                  [this](const mail& m) { mails.push_back(m); },
                  std::string(origin),
                  "https://collect.test",
                  {},
                  [this](std::string_view problem) { warnings.emplace_back(problem); }},
        secure_(routes, services_) {
    add_dashboard_routes(secure_, routes, registry, {});
  }

  // As the database owner (bypasses row-level security): set-up and checks behind the API's back.
  pqxx::connection& owner() { return owner_conn_; }
  const events::keys& keys() const { return keys_; }
  redis::pool& redis() { return redis_; }
  const std::string& database_dsn() const { return db_.dsn(); }
  const secure_routes& secure() const { return secure_; }

  http::response send(browser& b, http::verb method, const std::string& target, const std::string& body = {},
                      std::vector<http::header> headers = {}, const std::string& peer = "198.51.100.7") {
    http::request req;
    req.method = method;
    req.target = target;
    req.path = target.substr(0, target.find('?'));
    req.query = target.find('?') == std::string::npos ? "" : target.substr(target.find('?') + 1);
    req.body = body;
    req.peer_address = peer;
    const bool state_changing = method != http::verb::get && method != http::verb::head;
    if (state_changing) {
      headers.push_back({"Origin", std::string(origin)});
      headers.push_back({"Content-Type", "application/json"});
      if (!b.csrf_token.empty()) {
        headers.push_back({"X-CSRF-Token", b.csrf_token});
      }
    }
    if (!b.bearer.empty()) {
      headers.push_back({"Authorization", "Bearer " + b.bearer});
    }
    std::string cookie;
    for (const auto& [name, value] : b.cookies) {
      cookie += (cookie.empty() ? "" : "; ") + name + "=" + value;
    }
    if (!cookie.empty()) {
      headers.push_back({"Cookie", cookie});
    }
    // Later headers of the same name are ignored by header_value(): explicit ones come first.
    req.headers = std::move(headers);
    const auto res = raw(req);
    remember(b, res);
    return res;
  }

  http::response raw(const http::request& req) {
    const auto* route = routes.match(req);
    return route == nullptr ? routes.fallback_response(req) : route->fn(req);
  }

  // A browser signed in as `account_id` without the cost of a password check.
  browser session_for(std::int64_t account_id) {
    const auto started = sessions_.start_for_account(account_id);
    browser b;
    b.cookies[std::string(session_cookie)] = started.token;
    b.csrf_token = started.session.csrf_token;
    return b;
  }

  // Signs `email` up through the API and returns its browser.
  browser sign_up(const std::string& email) {
    browser b;
    const auto res = send(b, http::verb::post, "/api/auth/signup",
                          R"({"email":")" + email + R"(","password":")" + std::string(password) + "\"}");
    REQUIRE(res.status == 201);
    return b;
  }

  browser login(const std::string& email, const std::string& pw = std::string(password)) {
    browser b;
    const auto res = send(b, http::verb::post, "/api/auth/login", R"({"email":")" + email + R"(","password":")" + pw + "\"}");
    INFO(res.body);
    REQUIRE(res.status == 200);
    return b;
  }

  std::string create_site(browser& b, const std::string& domain) {
    const auto res = send(b, http::verb::post, "/api/sites", R"({"domain":")" + domain + R"(","timezone":"UTC"})");
    INFO(res.body);
    REQUIRE(res.status == 201);
    return domain;
  }

  // An API key of `b`'s account, as a browser that sends only the key.
  browser api_key(browser& b, std::string_view scope) {
    const auto res = send(b, http::verb::post, "/api/api-keys", R"({"scope":")" + std::string(scope) + "\"}");
    REQUIRE(res.status == 201);
    browser key;
    key.bearer = *json::parse(res.body)->find("key")->as_string();
    return key;
  }

  core::fake_clock clock{core::from_unix_ms(1'700'000'000'000)};
  metrics::registry registry;
  http::router routes;
  std::vector<mail> mails;
  std::vector<std::string> warnings;

 private:
  // Keeps Set-Cookie values and the CSRF token of a signed-in answer, like a browser and the
  // web dashboard would.
  static void remember(browser& b, const http::response& res) {
    for (const auto& h : res.headers) {
      if (h.name != "Set-Cookie") {
        continue;
      }
      const auto eq = h.value.find('=');
      const auto name = h.value.substr(0, eq);
      const auto value = h.value.substr(eq + 1, h.value.find(';') - eq - 1);
      if (value.empty()) {
        b.cookies.erase(name);
        b.csrf_token.clear();
      } else {
        b.cookies[name] = value;
      }
    }
    if (res.status < 300 && res.content_type == "application/json") {
      if (const auto doc = json::parse(res.body); doc && doc->find("csrf_token") != nullptr) {
        b.csrf_token = *doc->find("csrf_token")->as_string();
      }
    }
  }

  test_support::scoped_database db_;
  pqxx::connection owner_conn_;
  bool migrated_;
  pg::pool pg_;
  redis::pool redis_;
  events::keys keys_;
  session_store sessions_;
  rate_limiter limits_;
  dashboard_services services_;
  secure_routes secure_;
};

// The "errors" object's field names of an error answer.
inline std::vector<std::string> error_fields(const http::response& res) {
  std::vector<std::string> out;
  const auto doc = json::parse(res.body);
  if (doc && doc->find("errors") != nullptr && doc->find("errors")->as_object() != nullptr) {
    for (const auto& [key, value] : *doc->find("errors")->as_object()) {
      out.push_back(key);
    }
  }
  return out;
}

}  // namespace plumb::dashboard::testing
