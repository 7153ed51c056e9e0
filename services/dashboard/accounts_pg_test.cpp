// Sign-up, login, sessions, CSRF, password change and reset, rate limits and API keys, through
// the real route table against PostgreSQL (as plumb_dashboard) and Redis.
#include <algorithm>
#include <thread>

#include "dashboard_test_fixture.hpp"
#include "plumb/crypto/crypto.hpp"

using namespace plumb;
using namespace plumb::dashboard::testing;
using http::verb;

namespace {

bool has_field(const http::response& res, std::string_view field) {
  const auto fields = error_fields(res);
  return std::find(fields.begin(), fields.end(), field) != fields.end();
}

std::string header(const http::response& res, std::string_view name) {
  for (const auto& h : res.headers) {
    if (h.name == name) {
      return h.value;
    }
  }
  return {};
}

std::string credentials(const std::string& email, const std::string& pw) {
  return R"({"email":")" + email + R"(","password":")" + pw + "\"}";
}

}  // namespace

TEST_CASE("sign-up and login set a __Host- session cookie, logout ends the session on the server") {
  fixture f;
  auto b = f.sign_up("Ada@Example.com");
  REQUIRE(b.cookies.contains("__Host-plumb_session"));
  CHECK(f.send(b, verb::get, "/api/auth/session").body.find("ada@example.com") != std::string::npos);

  browser fresh;
  const auto login = f.send(fresh, verb::post, "/api/auth/login", credentials("ada@example.com", std::string(password)));
  REQUIRE(login.status == 200);
  const auto cookie = header(login, "Set-Cookie");
  CHECK(cookie.rfind("__Host-plumb_session=", 0) == 0);
  for (const char* attribute : {"; Path=/", "; Secure", "; HttpOnly", "; SameSite=Lax"}) {
    CHECK(cookie.find(attribute) != std::string::npos);
  }
  CHECK(cookie.find("Domain=") == std::string::npos);

  const auto stolen = fresh;  // a copy of the cookie, as an attacker who saw it would hold
  CHECK(f.send(fresh, verb::post, "/api/auth/logout", "{}").status == 204);
  CHECK(fresh.cookies.empty());
  auto replay = stolen;
  CHECK(f.send(replay, verb::get, "/api/auth/session").status == 401);
  // The other browser's session is untouched.
  CHECK(f.send(b, verb::get, "/api/auth/session").status == 200);
}

TEST_CASE("login rotates the session id: a planted cookie never becomes signed in") {
  fixture f;
  f.sign_up("victim@example.com");
  // The attacker plants a session cookie of their own account in the victim's browser...
  auto attacker = f.sign_up("attacker@example.com");
  browser victim;
  victim.cookies = attacker.cookies;  // the cookie only: the attacker cannot plant the CSRF token
  const auto planted = victim.cookies.at("__Host-plumb_session");
  // ...then the victim logs in: a new id, and the planted one is ended.
  const auto res = f.send(victim, verb::post, "/api/auth/login", credentials("victim@example.com", std::string(password)));
  REQUIRE(res.status == 200);
  CHECK(victim.cookies.at("__Host-plumb_session") != planted);
  CHECK(f.send(attacker, verb::get, "/api/auth/session").status == 401);
  CHECK(f.send(victim, verb::get, "/api/auth/session").body.find("victim@example.com") != std::string::npos);
}

TEST_CASE("sessions end after the idle and the absolute timeout") {
  fixture f;  // idle 1 h, absolute 24 h
  auto b = f.sign_up("idle@example.com");
  f.clock.advance(std::chrono::minutes(59));
  CHECK(f.send(b, verb::get, "/api/auth/session").status == 200);
  f.clock.advance(std::chrono::minutes(61));
  CHECK(f.send(b, verb::get, "/api/auth/session").status == 401);

  // Used every 59 minutes, a session still ends 24 hours after login.
  auto busy = f.login("idle@example.com");
  for (int i = 0; i < 24; ++i) {
    f.clock.advance(std::chrono::minutes(59));
    REQUIRE(f.send(busy, verb::get, "/api/auth/session").status == 200);
  }
  f.clock.advance(std::chrono::minutes(59));
  CHECK(f.send(busy, verb::get, "/api/auth/session").status == 401);
}

TEST_CASE("CSRF: state changes need our Origin, the session's token and a JSON body") {
  fixture f;
  auto b = f.sign_up("csrf@example.com");
  const std::string site = R"({"domain":"csrf.example","timezone":"UTC"})";

  auto no_token = b;
  no_token.csrf_token.clear();
  auto res = f.send(no_token, verb::post, "/api/sites", site);
  CHECK(res.status == 403);
  CHECK(has_field(res, "csrf"));

  res = f.send(b, verb::post, "/api/sites", site, {{"X-CSRF-Token", "0123"}});
  CHECK(res.status == 403);
  CHECK(has_field(res, "csrf"));

  res = f.send(b, verb::post, "/api/sites", site, {{"Origin", "https://evil.example"}});
  CHECK(res.status == 403);
  CHECK(has_field(res, "origin"));
  res = f.send(b, verb::post, "/api/sites", site, {{"Origin", "null"}});
  CHECK(res.status == 403);

  // A form post (the one cross-site request a browser sends without asking) is refused.
  res = f.send(b, verb::post, "/api/sites", "domain=csrf.example", {{"Content-Type", "application/x-www-form-urlencoded"}});
  CHECK(res.status == 415);
  res = f.send(b, verb::post, "/api/sites", site, {{"Content-Type", "text/plain"}});
  CHECK(res.status == 415);

  // Login CSRF: no session yet, but the Origin must still be ours.
  browser anonymous;
  res = f.send(anonymous, verb::post, "/api/auth/login", credentials("csrf@example.com", std::string(password)),
               {{"Origin", "https://evil.example"}});
  CHECK(res.status == 403);

  // Nothing above created the site; the same request with everything right does.
  CHECK(f.send(b, verb::get, "/api/sites").body.find("csrf.example") == std::string::npos);
  CHECK(f.send(b, verb::post, "/api/sites", site).status == 201);
}

TEST_CASE("unknown accounts and wrong passwords get the same answer, attempts are rate limited") {
  fixture f;
  f.sign_up("known@example.com");
  browser b;
  const auto unknown = f.send(b, verb::post, "/api/auth/login", credentials("nobody@example.com", "whatever-password"));
  const auto wrong = f.send(b, verb::post, "/api/auth/login", credentials("known@example.com", "whatever-password"));
  CHECK(unknown.status == 401);
  CHECK(wrong.status == 401);
  CHECK(unknown.body == wrong.body);
  CHECK(unknown.headers.size() == wrong.headers.size());

  // Per account: the 11th try within the window is refused, even with the right password and
  // from another address.
  for (int i = 0; i < 9; ++i) {
    CHECK(f.send(b, verb::post, "/api/auth/login", credentials("known@example.com", "wrong-password"), {},
                 "203.0.113." + std::to_string(i))
              .status == 401);
  }
  auto res = f.send(b, verb::post, "/api/auth/login", credentials("known@example.com", std::string(password)), {},
                    "203.0.113.99");
  CHECK(res.status == 429);
  CHECK(!header(res, "Retry-After").empty());

  // Per client: 50 tries from one address over many accounts.
  int refused = 0;
  for (int i = 0; i < 55; ++i) {
    const auto r = f.send(b, verb::post, "/api/auth/login",
                          credentials("spray" + std::to_string(i) + "@example.com", "wrong-password"), {}, "198.51.100.50");
    refused += r.status == 429 ? 1 : 0;
  }
  CHECK(refused == 5);

  // Counters are keyed hashes: neither the address nor the email is in Redis.
  auto conn = f.redis().acquire();
  const auto names = conn->command({"KEYS", f.keys().prefix() + "*"});
  for (const auto& name : names.elements) {
    CHECK(name.str.find("198.51.100.50") == std::string::npos);
    CHECK(name.str.find("known@example.com") == std::string::npos);
  }
}

TEST_CASE("changing the password ends every session and keeps this browser signed in") {
  fixture f;
  auto here = f.sign_up("change@example.com");
  auto elsewhere = f.login("change@example.com");
  auto res = f.send(here, verb::post, "/api/auth/password", R"({"current_password":"wrong one","new_password":"a new long password"})");
  CHECK(res.status == 400);
  res = f.send(here, verb::post, "/api/auth/password",
               R"({"current_password":"a long password","new_password":"a new long password"})");
  REQUIRE(res.status == 200);
  CHECK(f.send(elsewhere, verb::get, "/api/auth/session").status == 401);
  CHECK(f.send(here, verb::get, "/api/auth/session").status == 200);
  browser b;
  CHECK(f.send(b, verb::post, "/api/auth/login", credentials("change@example.com", std::string(password))).status == 401);
  CHECK(f.login("change@example.com", "a new long password").cookies.size() == 1);
}

TEST_CASE("password reset: mailed link, single use, expiring, answers the same for unknown emails") {
  fixture f;
  auto old_session = f.sign_up("reset@example.com");
  browser b;
  CHECK(f.send(b, verb::post, "/api/auth/password-reset", R"({"email":"nobody@example.com"})").status == 202);
  CHECK(f.mails.empty());
  CHECK(f.send(b, verb::post, "/api/auth/password-reset", R"({"email":"Reset@Example.com"})").status == 202);
  REQUIRE(f.mails.size() == 1);
  CHECK(f.mails[0].to == "reset@example.com");
  const auto& link = f.mails[0].link;
  REQUIRE(link.rfind(std::string(origin) + "/reset-password#token=", 0) == 0);
  const std::string token = link.substr(link.find('=') + 1);

  // The token is stored only as its hash.
  auto conn = f.redis().acquire();
  for (const auto& name : conn->command({"KEYS", f.keys().prefix() + "*"}).elements) {
    CHECK(name.str.find(token) == std::string::npos);
  }

  const std::string confirm = R"({"token":")" + token + R"(","new_password":"reset long password"})";
  CHECK(f.send(b, verb::post, "/api/auth/password-reset/confirm", R"({"token":"nope","new_password":"reset long password"})")
            .status == 400);
  CHECK(f.send(b, verb::post, "/api/auth/password-reset/confirm", confirm).status == 204);
  CHECK(f.send(b, verb::post, "/api/auth/password-reset/confirm", confirm).status == 400);  // used up
  CHECK(f.send(old_session, verb::get, "/api/auth/session").status == 401);
  f.login("reset@example.com", "reset long password");

  // A link older than its hour no longer works (Redis expiry).
  CHECK(f.send(b, verb::post, "/api/auth/password-reset", R"({"email":"reset@example.com"})").status == 202);
  const auto& second = f.mails.back().link;
  const auto key = f.keys().password_reset(crypto::to_hex(crypto::sha256({second.substr(second.find('=') + 1)})));
  const auto ttl = conn->command({"TTL", key});
  CHECK(ttl.integer > 3'500);
  CHECK(ttl.integer <= 3'600);
  conn->command({"PEXPIRE", key, "1"});
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(f.send(b, verb::post, "/api/auth/password-reset/confirm",
               R"({"token":")" + second.substr(second.find('=') + 1) + R"(","new_password":"another long password"})")
            .status == 400);
}

TEST_CASE("API keys are shown once, stored hashed, scoped and revocable") {
  fixture f;
  auto b = f.sign_up("keys@example.com");
  f.create_site(b, "keys.example");
  auto stats_key = f.api_key(b, "stats:read");
  CHECK(f.send(b, verb::post, "/api/api-keys", R"({"scope":"everything"})").status == 400);

  const auto listed = f.send(b, verb::get, "/api/api-keys");
  CHECK(listed.body.find(stats_key.bearer) == std::string::npos);
  CHECK(listed.body.find(stats_key.bearer.substr(0, 12)) != std::string::npos);
  {
    pqxx::work tx(f.owner());
    CHECK(tx.exec_params("SELECT 1 FROM api_keys WHERE key_hash::text LIKE '%' || $1 || '%'", stats_key.bearer).empty());
  }

  CHECK(f.send(stats_key, verb::get, "/api/v1/stats/aggregate?site_id=keys.example&period=day").status == 200);
  CHECK(f.send(stats_key, verb::get, "/api/sites/keys.example").status == 403);
  const auto id = std::to_string(*(*json::parse(listed.body)->find("api_keys")->as_array())[0].find("id")->as_int());
  CHECK(f.send(b, verb::delete_, "/api/api-keys/" + id).status == 204);
  CHECK(f.send(stats_key, verb::get, "/api/v1/stats/aggregate?site_id=keys.example&period=day").status == 401);
  CHECK(f.send(b, verb::delete_, "/api/api-keys/" + id).status == 404);
}
