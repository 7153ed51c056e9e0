// Sites, settings, goals, shared links and teams through the real route table; site changes
// reach the Redis site map collectors read.
#include <set>

#include "dashboard_test_fixture.hpp"
#include "plumb/events/site_map.hpp"
#include "plumb/stats/result_cache.hpp"
#include "plumb/storage/partitions.hpp"
#include "plumb/visits/tracker.hpp"

using namespace plumb;
using namespace plumb::dashboard::testing;
using http::verb;

namespace {

// The descriptor collectors would load for `domain`, or nullopt when it is not published.
std::optional<events::site_descriptor> published(fixture& f, const std::string& domain) {
  auto conn = f.redis().acquire();
  const auto reply = conn->command({"HGET", f.keys().site_map(), domain});
  return reply.is_nil() ? std::nullopt : events::decode_site_descriptor(reply.str);
}

std::string field_of(const http::response& res, std::string_view name) {
  const auto doc = json::parse(res.body);
  const auto* v = doc ? doc->find(name) : nullptr;
  if (v == nullptr) {
    return {};
  }
  return v->as_string() != nullptr ? *v->as_string() : std::to_string(v->as_int().value_or(0));
}

std::int64_t rows_of_site(pqxx::connection& owner, const std::string& table, std::int64_t site_id) {
  pqxx::work tx(owner);
  return tx.exec_params1("SELECT count(*) FROM " + table + " WHERE site_id = $1", site_id)[0].as<std::int64_t>();
}

// Every key under the test's prefix (the fixture's Redis prefix is its own).
std::set<std::string> redis_keys(fixture& f) {
  auto conn = f.redis().acquire();
  std::set<std::string> out;
  std::string cursor = "0";
  do {
    const auto page = conn->command({"SCAN", cursor, "MATCH", f.keys().prefix() + "*", "COUNT", "1000"});
    cursor = page.elements.at(0).str;
    for (const auto& key : page.elements.at(1).elements) {
      out.insert(key.str);
    }
  } while (cursor != "0");
  return out;
}

// Whether `key` is one of site `id`'s: visit state ("{id}"), its stats version or cached results.
bool names_site(const std::string& key, std::int64_t id) {
  const auto n = std::to_string(id);
  return key.find("{" + n + "}") != std::string::npos || key.ends_with("stats:version:" + n) ||
         key.find("stats:result:" + n + ":") != std::string::npos;
}

// What a worker and the dashboard leave in Redis for a site with traffic: visit state and live
// visitors, a stats data version, a cached stats result.
void leave_redis_state(fixture& f, std::int64_t site_id) {
  auto conn = f.redis().acquire();
  visits::tracker tracker(*conn, f.keys());
  visits::hit h;
  h.site_id = site_id;
  h.visitor_hash = 42;
  h.received_ms = 1'700'000'000'000;
  h.event_id = "0190a4f0-0000-7000-8000-00000000000" + std::to_string(site_id % 10);
  h.pageview = true;
  h.page = "/";
  tracker.apply(std::span(&h, 1));
  conn->command({"INCR", f.keys().stats_version(site_id)});
  stats::result_cache cache(f.redis(), f.keys());
  cache.get_or_compute(site_id, "/api/v1/stats/aggregate", true, [] { return std::string("{}"); });
}

}  // namespace

TEST_CASE("sites are created, configured and renamed, every change reaches the site map") {
  fixture f;
  auto b = f.sign_up("owner@example.com");
  auto res = f.send(b, verb::post, "/api/sites", R"({"domain":"https://www.Shop.example/","timezone":"Asia/Kolkata"})");
  REQUIRE(res.status == 201);
  CHECK(field_of(res, "domain") == "shop.example");
  CHECK(field_of(res, "tracking_snippet") ==
        R"(<script defer data-domain="shop.example" src="https://collect.test/js/script.js"></script>)");
  REQUIRE(published(f, "shop.example"));
  CHECK(published(f, "shop.example")->timezone == "Asia/Kolkata");

  CHECK(f.send(b, verb::post, "/api/sites", R"({"domain":"shop.example"})").status == 409);
  CHECK(f.send(b, verb::post, "/api/sites", R"({"domain":"bad domain"})").status == 400);
  CHECK(f.send(b, verb::post, "/api/sites", R"({"domain":"x.example","timezone":"Mars/Olympus"})").status == 400);

  res = f.send(b, verb::patch, "/api/sites/shop.example",
               R"({"ignore_do_not_track":true,"excluded_ip_ranges":["203.0.113.0/24"," 2001:db8::/32"],)"
               R"("allowed_hostnames":["shop.example","*.Shop.example"],"retention_days":400})");
  INFO(res.body);
  REQUIRE(res.status == 200);
  auto site = published(f, "shop.example");
  REQUIRE(site);
  CHECK(site->ignore_do_not_track);
  CHECK(site->excluded_ip_ranges == *core::parse_cidr_list("203.0.113.0/24, 2001:db8::/32"));
  CHECK(site->allowed_hostnames == std::vector<std::string>{"shop.example", "*.shop.example"});
  CHECK(f.send(b, verb::get, "/api/sites/shop.example").body.find(R"("retention_days":400)") != std::string::npos);

  for (const char* bad : {R"({"excluded_ip_ranges":["10.0.0.0/33"]})", R"({"allowed_hostnames":["a b"]})",
                          R"({"retention_days":7})", R"({"timezone":"Nowhere"})", R"({"ignore_do_not_track":"yes"})"}) {
    INFO(bad);
    CHECK(f.send(b, verb::patch, "/api/sites/shop.example", bad).status == 400);
  }
  CHECK(f.send(b, verb::patch, "/api/sites/shop.example", R"({"retention_days":null})").body.find(
            R"("retention_days":null)") != std::string::npos);

  // Rename: the old domain leaves the map, the new one carries the same site.
  res = f.send(b, verb::patch, "/api/sites/shop.example", R"({"domain":"store.example"})");
  REQUIRE(res.status == 200);
  CHECK_FALSE(published(f, "shop.example"));
  REQUIRE(published(f, "store.example"));
  CHECK(published(f, "store.example")->ignore_do_not_track);
  CHECK(f.send(b, verb::get, "/api/sites").body.find("store.example") != std::string::npos);
}

TEST_CASE("deleting a site deletes its data and unpublishes it") {
  fixture f;
  auto b = f.sign_up("owner@example.com");
  f.create_site(b, "gone.example");
  f.create_site(b, "kept.example");
  std::map<std::string, std::int64_t> ids;
  storage::ensure_partitions(f.owner(), 1'700'000'000'000, 1'700'000'000'000);
  {
    pqxx::work tx(f.owner());
    for (const auto* domain : {"gone.example", "kept.example"}) {
      const auto id = storage::find_site(tx, domain)->id;
      ids[domain] = id;
      const auto value =
          tx.exec_params1("INSERT INTO dimension_values (site_id, value) VALUES ($1, '/') RETURNING id", id)[0]
              .as<std::int64_t>();
      tx.exec_params(
          "INSERT INTO events (site_id, received_at, event_id, visit_id, visitor_hash, name_id, interactive, "
          "hostname_id, page_id, source_id, referrer_id, channel_id, utm_source_id, utm_medium_id, utm_campaign_id, "
          "utm_term_id, utm_content_id, country_id, browser_id, browser_version_id, os_id, os_version_id, device_id, "
          "screen_id, region_id, city_id) VALUES ($1, to_timestamp(1700000000), gen_random_uuid(), gen_random_uuid(), 1, "
          "$2, true, $2, $2, $2, $2, $2, $2, $2, $2, $2, $2, $2, $2, $2, $2, $2, $2, $2, $2, $2)",
          id, value);
      tx.exec_params("INSERT INTO dropped_events VALUES ($1, to_timestamp(1700000000), gen_random_uuid())", id);
      tx.exec_params("INSERT INTO rollups (site_id, dimension, bucket, value_id, pageviews) "
                     "VALUES ($1, 0, '2023-11-14 22:00', $2, 1)",
                     id, value);
    }
    tx.commit();
  }
  CHECK(f.send(b, verb::post, "/api/sites/gone.example/goals", R"({"page_path":"/thanks*"})").status == 201);
  for (const auto& [domain, id] : ids) {
    leave_redis_state(f, id);
  }
  const auto count_of = [](const std::set<std::string>& keys, std::int64_t id) {
    return std::count_if(keys.begin(), keys.end(), [&](const auto& k) { return names_site(k, id); });
  };
  const auto before = redis_keys(f);
  // Visit hash, live set, version, cached result: each site has them all.
  REQUIRE(count_of(before, ids["gone.example"]) >= 4);
  REQUIRE(count_of(before, ids["kept.example"]) == count_of(before, ids["gone.example"]));

  REQUIRE(f.send(b, verb::delete_, "/api/sites/gone.example").status == 204);
  const auto after = redis_keys(f);
  for (const auto& key : after) {
    INFO(key);
    CHECK_FALSE(names_site(key, ids["gone.example"]));
  }
  CHECK(count_of(after, ids["kept.example"]) == count_of(before, ids["kept.example"]));
  for (const auto* table : {"events", "dropped_events", "rollups", "dimension_values", "goals", "site_memberships"}) {
    INFO(table);
    CHECK(rows_of_site(f.owner(), table, ids["gone.example"]) == 0);
    CHECK(rows_of_site(f.owner(), table, ids["kept.example"]) >= (std::string(table) == "goals" ? 0 : 1));
  }
  CHECK_FALSE(published(f, "gone.example"));
  CHECK(published(f, "kept.example"));
  CHECK(f.send(b, verb::get, "/api/sites/gone.example").status == 404);
}

TEST_CASE("goals: custom events and page paths with wildcards") {
  fixture f;
  auto b = f.sign_up("owner@example.com");
  f.create_site(b, "goals.example");
  CHECK(f.send(b, verb::post, "/api/sites/goals.example/goals", R"({"event_name":"Signup"})").status == 201);
  const auto page = f.send(b, verb::post, "/api/sites/goals.example/goals", R"({"page_path":"/blog/*"})");
  CHECK(page.status == 201);
  CHECK(f.send(b, verb::post, "/api/sites/goals.example/goals", R"({"event_name":"Signup"})").status == 409);
  CHECK(f.send(b, verb::post, "/api/sites/goals.example/goals", R"({"page_path":"blog"})").status == 400);
  CHECK(f.send(b, verb::post, "/api/sites/goals.example/goals", R"({"event_name":"A","page_path":"/a"})").status == 400);
  CHECK(f.send(b, verb::post, "/api/sites/goals.example/goals", "{}").status == 400);
  const auto list = f.send(b, verb::get, "/api/sites/goals.example/goals").body;
  CHECK(list.find(R"("event_name":"Signup","page_path":null)") != std::string::npos);
  CHECK(list.find(R"("page_path":"/blog/*")") != std::string::npos);
  CHECK(f.send(b, verb::delete_, "/api/sites/goals.example/goals/" + field_of(page, "id")).status == 204);
  CHECK(f.send(b, verb::get, "/api/sites/goals.example/goals").body.find("/blog/*") == std::string::npos);
}

TEST_CASE("shared links: public or password-protected, revocable") {
  fixture f;
  auto b = f.sign_up("owner@example.com");
  f.create_site(b, "shared.example");
  const auto open = f.send(b, verb::post, "/api/sites/shared.example/shared-links", R"({"name":"Public"})");
  REQUIRE(open.status == 201);
  const auto secret =
      f.send(b, verb::post, "/api/sites/shared.example/shared-links", R"({"name":"Board","password":"board password"})");
  REQUIRE(secret.status == 201);
  const auto token_of = [](const http::response& res) {
    const auto url = field_of(res, "url");
    return url.substr(url.rfind('/') + 1);
  };
  CHECK(field_of(open, "url").rfind(std::string(origin) + "/share/plumb_share_", 0) == 0);
  // The list never shows tokens again.
  CHECK(f.send(b, verb::get, "/api/sites/shared.example/shared-links").body.find(token_of(open)) == std::string::npos);

  browser visitor;
  CHECK(f.send(visitor, verb::get, "/api/shared/" + token_of(open)).body.find("shared.example") != std::string::npos);
  CHECK(f.send(visitor, verb::get, "/api/shared/" + token_of(secret)).status == 401);
  CHECK(f.send(visitor, verb::post, "/api/shared/" + token_of(secret) + "/unlock", R"({"password":"wrong password"})")
            .status == 401);
  const auto unlocked =
      f.send(visitor, verb::post, "/api/shared/" + token_of(secret) + "/unlock", R"({"password":"board password"})");
  CHECK(unlocked.status == 200);
  CHECK(visitor.cookies.contains("__Host-plumb_share"));
  CHECK(f.send(visitor, verb::get, "/api/shared/" + token_of(secret)).status == 200);
  // Embedded in another site's frame there is no cookie: the page sends the unlock token instead,
  // for this link only.
  const auto unlock_token = field_of(unlocked, "unlock_token");
  REQUIRE(unlock_token.size() >= 32);
  browser framed;
  CHECK(f.send(framed, verb::get, "/api/shared/" + token_of(secret)).status == 401);
  CHECK(f.send(framed, verb::get, "/api/shared/" + token_of(secret), {}, {{"X-Plumb-Unlock", unlock_token}}).status ==
        200);
  CHECK(f.send(framed, verb::get, "/api/shared/" + token_of(secret) + "/top-stats?period=day&metrics=visitors", {},
               {{"X-Plumb-Unlock", unlock_token}})
            .status == 200);
  CHECK(f.send(framed, verb::get, "/api/shared/" + token_of(secret), {}, {{"X-Plumb-Unlock", unlock_token + "x"}})
            .status == 401);
  CHECK(framed.cookies.empty());
  // The token is no sign-in: as a session cookie it opens nothing.
  browser impostor;
  impostor.cookies["__Host-plumb_session"] = unlock_token;
  CHECK(f.send(impostor, verb::get, "/api/sites").status == 401);
  // The unlock is for that link only.
  browser other_visitor;
  other_visitor.cookies = visitor.cookies;
  CHECK(f.send(other_visitor, verb::get, "/api/shared/plumb_share_0000").status == 404);

  CHECK(f.send(b, verb::delete_, "/api/sites/shared.example/shared-links/" + field_of(open, "id")).status == 204);
  CHECK(f.send(visitor, verb::get, "/api/shared/" + token_of(open)).status == 404);
}

TEST_CASE("teams: invitations by email, roles per site, at least one owner") {
  fixture f;
  auto owner = f.sign_up("owner@example.com");
  f.create_site(owner, "team.example");
  auto res = f.send(owner, verb::post, "/api/sites/team.example/invitations", R"({"email":"New@Example.com","role":"admin"})");
  REQUIRE(res.status == 201);
  REQUIRE(f.mails.size() == 1);
  CHECK(f.mails[0].to == "new@example.com");
  const std::string token = f.mails[0].link.substr(f.mails[0].link.find('=') + 1);

  // Someone else cannot use the invitation, even with the token.
  auto stranger = f.sign_up("stranger@example.com");
  CHECK(f.send(stranger, verb::post, "/api/invitations/accept", R"({"token":")" + token + "\"}").status == 404);
  CHECK(f.send(stranger, verb::get, "/api/sites/team.example").status == 404);

  // The invitee signs up with the invited address and accepts.
  auto invitee = f.sign_up("new@example.com");
  res = f.send(invitee, verb::post, "/api/invitations/accept", R"({"token":")" + token + "\"}");
  REQUIRE(res.status == 200);
  CHECK(field_of(res, "role") == "admin");
  CHECK(f.send(invitee, verb::post, "/api/invitations/accept", R"({"token":")" + token + "\"}").status == 404);
  CHECK(f.send(invitee, verb::patch, "/api/sites/team.example", R"({"timezone":"Europe/Paris"})").status == 200);
  CHECK(f.send(invitee, verb::delete_, "/api/sites/team.example").status == 403);
  // An admin cannot hand out ownership.
  CHECK(f.send(invitee, verb::post, "/api/sites/team.example/invitations", R"({"email":"x@example.com","role":"owner"})")
            .status == 403);

  const auto members = f.send(owner, verb::get, "/api/sites/team.example/members");
  CHECK(members.body.find("new@example.com") != std::string::npos);
  const auto doc = json::parse(members.body);
  std::string owner_id;
  std::string invitee_id;
  for (const auto& m : *doc->find("members")->as_array()) {
    const auto id = std::to_string(*m.find("account_id")->as_int());
    (*m.find("email")->as_string() == "owner@example.com" ? owner_id : invitee_id) = id;
  }
  // The only owner can be neither demoted nor removed.
  CHECK(f.send(owner, verb::patch, "/api/sites/team.example/members/" + owner_id, R"({"role":"viewer"})").status == 400);
  CHECK(f.send(owner, verb::delete_, "/api/sites/team.example/membership").status == 400);
  CHECK(f.send(owner, verb::patch, "/api/sites/team.example/members/" + invitee_id, R"({"role":"viewer"})").status == 204);
  CHECK(f.send(invitee, verb::patch, "/api/sites/team.example", R"({"timezone":"UTC"})").status == 403);
  CHECK(f.send(invitee, verb::get, "/api/sites/team.example/members").body.find("invitations\":[]") != std::string::npos);
  CHECK(f.send(invitee, verb::delete_, "/api/sites/team.example/membership").status == 204);
  CHECK(f.send(invitee, verb::get, "/api/sites/team.example").status == 404);
}
