// The dashboard's stats routes over HTTP: every response body is validated against
// proto/openapi.json, bad input gets 400 with the valid values, CSV exports are streamed.
#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <sstream>

#include "plumb/datagen/generator.hpp"
#include "plumb/json/value.hpp"
#include "plumb/storage/migrations.hpp"
#include "plumb/storage/tenants.hpp"
#include "plumb/test_support/environment.hpp"
#include "plumb/test_support/process.hpp"
#include "stored_truth.hpp"

using namespace plumb;
using namespace plumb::test_support;

namespace {

// 2026-01-05T00:00Z, three days: a closed period whatever day the test runs.
constexpr std::int64_t start_ms = 1'767'571'200'000;
const std::string period = "period=custom&date=2026-01-05,2026-01-07";

json::value load_openapi() {
  std::ifstream in(std::string(PLUMB_SOURCE_DIR) + "/proto/openapi.json");
  std::stringstream text;
  text << in.rdbuf();
  auto doc = json::parse(text.str(), 64);
  REQUIRE(doc);
  return *doc;
}

// A small JSON Schema checker for the subset proto/openapi.json uses: type (incl. "null"), enum,
// required, properties, additionalProperties, minProperties, items, minimum, $ref, oneOf, allOf.
class schema_checker {
 public:
  explicit schema_checker(json::value doc) : doc_(std::move(doc)) {}

  // Problems of `v` against the named component schema; empty when it conforms.
  std::vector<std::string> check(const json::value& v, const std::string& component) const {
    std::vector<std::string> problems;
    validate(v, *doc_.find("components")->find("schemas")->find(component), "$", problems);
    return problems;
  }

 private:
  const json::value& resolve(const json::value& schema) const {
    const auto* ref = schema.find("$ref");
    if (!ref) {
      return schema;
    }
    const std::string name = ref->as_string()->substr(std::string("#/components/schemas/").size());
    return *doc_.find("components")->find("schemas")->find(name);
  }

  bool conforms(const json::value& v, const json::value& schema) const {
    std::vector<std::string> p;
    validate(v, schema, "", p);
    return p.empty();
  }

  void validate(const json::value& v, const json::value& raw, const std::string& at, std::vector<std::string>& out) const {
    const auto& s = resolve(raw);
    if (const auto* type = s.find("type")) {
      const std::string& t = *type->as_string();
      const bool ok = (t == "object" && v.is_object()) || (t == "array" && v.is_array()) ||
                      (t == "string" && v.is_string()) || (t == "number" && v.is_number()) ||
                      (t == "integer" && v.as_int() && v.type() == json::value::kind::integer) ||
                      (t == "boolean" && v.as_bool()) || (t == "null" && v.is_null());
      if (!ok) {
        out.push_back(at + ": not " + t);
        return;
      }
    }
    if (const auto* values = s.find("enum")) {
      bool found = false;
      for (const auto& e : *values->as_array()) {
        found = found || (e.as_string() && v.as_string() && *e.as_string() == *v.as_string());
      }
      if (!found) out.push_back(at + ": not one of the enum");
    }
    if (const auto* minimum = s.find("minimum"); minimum && v.as_double() && *v.as_double() < *minimum->as_double()) {
      out.push_back(at + ": below minimum");
    }
    if (const auto* all = s.find("allOf")) {
      for (const auto& sub : *all->as_array()) validate(v, sub, at, out);
    }
    if (const auto* one = s.find("oneOf")) {
      int matched = 0;
      for (const auto& sub : *one->as_array()) matched += conforms(v, sub) ? 1 : 0;
      if (matched != 1) out.push_back(at + ": matches " + std::to_string(matched) + " of oneOf");
    }
    if (const auto* obj = v.as_object()) {
      const auto* props = s.find("properties");
      if (const auto* required = s.find("required")) {
        for (const auto& r : *required->as_array()) {
          if (!v.find(*r.as_string())) out.push_back(at + ": missing " + *r.as_string());
        }
      }
      if (const auto* min = s.find("minProperties"); min && static_cast<std::int64_t>(obj->size()) < *min->as_int()) {
        out.push_back(at + ": too few properties");
      }
      const auto* additional = s.find("additionalProperties");
      for (const auto& [key, member] : *obj) {
        const auto* declared = props ? props->find(key) : nullptr;
        if (declared) {
          validate(member, *declared, at + "." + key, out);
        } else if (additional && additional->as_bool() && !*additional->as_bool()) {
          out.push_back(at + ": unexpected " + key);
        } else if (additional && additional->is_object()) {
          validate(member, *additional, at + "." + key, out);
        }
      }
    }
    if (const auto* arr = v.as_array(); arr && s.find("items")) {
      for (std::size_t i = 0; i < arr->size(); ++i) validate((*arr)[i], *s.find("items"), at + "[" + std::to_string(i) + "]", out);
    }
  }

  json::value doc_;
};

struct stack {
  scoped_database db;
  std::string key;
  datagen::generated data;
  std::unique_ptr<process> dashboard;
  std::uint16_t port = 0;

  stack() {
    pqxx::connection conn(db.dsn());
    storage::migrate(conn);
    datagen::options opts;
    {
      pqxx::work tx(conn);
      const auto owner = storage::create_account(tx, "owner@api.example", "a long password");
      const auto site = storage::create_site(tx, owner.id, "api.example", "Europe/Berlin");
      key = storage::create_api_key(tx, owner.id, storage::api_scope::stats_read);
      tx.commit();
      opts.sites.push_back({site.id, "api.example", 1});
    }
    opts.start_ms = start_ms;
    opts.days = 3;
    opts.target_events = 3'000;
    data = datagen::generate(opts);
    store_generated(conn, data);
    dashboard = std::make_unique<process>(
        service_binary("dashboard"), std::vector<std::string>{},
        std::map<std::string, std::string>{{"PLUMB_PG_DSN", db.dsn()},
                                           {"PLUMB_REDIS_URL", redis_url()},
                                           {"PLUMB_REDIS_PREFIX", unique_name("e2e:") + ":"},
                                           {"PLUMB_DASHBOARD_LISTEN", "127.0.0.1:0"},
                                           {"PLUMB_DASHBOARD_SECRET", "e2e-secret-e2e-secret-e2e-secret-e2e"}});
    port = dashboard->wait_for_port();
  }

  http_reply get(const std::string& target) const {
    return http_request("GET", port, target, "", {{"Authorization", "Bearer " + key}});
  }
};

}  // namespace

TEST_CASE("stats responses conform to proto/openapi.json") {
  stack s;
  const schema_checker openapi(load_openapi());
  const std::string v1 = "/api/v1/stats/";
  const std::string site = "?site_id=api.example&" + period;
  const std::vector<std::pair<std::string, std::string>> requests{
      {v1 + "aggregate" + site + "&metrics=visitors,visits,pageviews,views_per_visit,bounce_rate,visit_duration,events", "Aggregate"},
      {v1 + "aggregate" + site + "&metrics=visitors,pageviews&compare=previous_period", "Aggregate"},
      {v1 + "aggregate" + site + "&metrics=visitors,conversion_rate,total_revenue&filters=event:goal==Purchase", "Aggregate"},
      {v1 + "timeseries" + site + "&metrics=visitors,bounce_rate&interval=hour", "Timeseries"},
      {v1 + "breakdown" + site + "&property=visit:source&metrics=visitors,bounce_rate&filters=event:page~o", "Breakdown"},
      {v1 + "breakdown" + site + "&property=event:page&metrics=visitors,exit_rate", "Breakdown"},
      {v1 + "breakdown" + site + "&property=event:props:plan", "Breakdown"},
      {"/api/stats/api.example/top-stats?" + period + "&metrics=visitors,bounce_rate&compare=previous_year", "TopStats"},
      {"/api/stats/api.example/top-stats?period=realtime&metrics=visitors", "TopStats"},
      {"/api/stats/api.example/main-graph?" + period + "&metrics=visitors&compare=previous_period", "MainGraph"},
      {"/api/stats/api.example/main-graph?period=realtime&metrics=pageviews", "MainGraph"},
      {"/api/stats/api.example/breakdown?" + period + "&property=visit:country&limit=3&page=2", "BreakdownBox"},
      {"/api/stats/api.example/breakdown?" + period + "&property=visit:city&filters=visit:region==DE-BY", "BreakdownBox"},
      {v1 + "breakdown" + site + "&property=visit:region&filters=visit:city==Springfield%2C%20US-IL", "Breakdown"},
      {v1 + "aggregate?site_id=api.example&metrics=visitorz", "Errors"},
      {v1 + "breakdown?site_id=api.example&property=visit:planet", "Errors"},
      {v1 + "aggregate?site_id=api.example&period=fortnight", "Errors"},
  };
  for (const auto& [target, schema] : requests) {
    INFO(target);
    const auto reply = s.get(target);
    INFO("dashboard log:\n" << s.dashboard->output());
    CHECK(reply.status == (schema == "Errors" ? 400u : 200u));
    const auto body = json::parse(reply.body);
    REQUIRE(body);
    const auto problems = openapi.check(*body, schema);
    for (const auto& p : problems) {
      FAIL_CHECK(p << " in " << reply.body.substr(0, 300));
    }
  }
  // A city name shared by two states is two cities, each under its own region.
  const auto springfields = json::parse(
      s.get(v1 + "breakdown" + site + "&property=visit:city&filters=visit:region==US-IL%7CUS-MA").body);
  REQUIRE(springfields);
  std::set<std::string> cities;
  for (const auto& row : *springfields->find("results")->as_array()) {
    cities.insert(*row.find("city")->as_string());
  }
  CHECK(cities == std::set<std::string>{"Springfield, US-IL", "Springfield, US-MA"});
  // Errors list the valid values.
  CHECK(s.get(v1 + "aggregate?site_id=api.example&metrics=visitorz").body.find("valid metrics: visitors") != std::string::npos);
  CHECK(s.get(v1 + "breakdown?site_id=api.example&property=x").body.find("valid properties: event:page") != std::string::npos);
  CHECK(s.get(v1 + "aggregate?site_id=api.example&period=x").body.find("valid periods: realtime") != std::string::npos);
  CHECK(http_request("GET", s.port, v1 + "aggregate?site_id=api.example").status == 401);
  CHECK(s.get(v1 + "aggregate?site_id=other.example").status == 404);
  CHECK(s.get("/api/v1/stats/realtime/visitors?site_id=api.example").body == "0");
  const auto doc = http_request("GET", s.port, "/api/openapi.json");
  CHECK(doc.status == 200);
  CHECK(json::parse(doc.body));
  // A closed period is answered the same from the cache.
  const auto first = s.get(v1 + "aggregate" + site + "&metrics=visitors,pageviews");
  CHECK(s.get(v1 + "aggregate" + site + "&metrics=visitors,pageviews").body == first.body);
  CHECK(s.dashboard->stop() == 0);
}

TEST_CASE("CSV exports are streamed and agree with the JSON views") {
  stack s;
  const auto csv = s.get("/api/stats/api.example/export.csv?view=breakdown&" + period + "&property=visit:country&metrics=visitors,visits");
  INFO("dashboard log:\n" << s.dashboard->output() << "\nCSV reply:\n" << csv.body.substr(0, 300));
  CHECK(csv.status == 200);
  CHECK(csv.headers.at("transfer-encoding") == "chunked");
  CHECK(csv.headers.count("content-length") == 0);
  CHECK(csv.body.starts_with("country,visitors,visits\r\n"));
  const auto json_rows = json::parse(s.get("/api/v1/stats/breakdown?site_id=api.example&" + period +
                                           "&property=visit:country&metrics=visitors,visits&limit=1000").body);
  REQUIRE(json_rows);
  const auto& results = *json_rows->find("results")->as_array();
  std::size_t lines = 0;
  for (auto at = csv.body.find("\r\n"); at != std::string::npos; at = csv.body.find("\r\n", at + 2)) ++lines;
  CHECK(lines == results.size() + 1);
  for (const auto& row : results) {
    const std::string line = *row.find("country")->as_string() + "," + std::to_string(*row.find("visitors")->as_int()) +
                             "," + std::to_string(*row.find("visits")->as_int()) + "\r\n";
    CHECK(csv.body.find(line) != std::string::npos);
  }
  const auto series = s.get("/api/stats/api.example/export.csv?view=timeseries&" + period + "&metrics=pageviews");
  CHECK(series.body.starts_with("date,pageviews\r\n2026-01-05,"));

  const auto raw = s.get("/api/stats/api.example/events.csv");
  CHECK(raw.status == 200);
  CHECK(raw.headers.at("transfer-encoding") == "chunked");
  std::size_t rows = 0;
  for (auto at = raw.body.find("\r\n"); at != std::string::npos; at = raw.body.find("\r\n", at + 2)) ++rows;
  CHECK(rows == s.data.events.size() + 1);
  CHECK(raw.body.starts_with("received_at,event_id,visit_id,name,hostname,page,"));
  CHECK(raw.body.find(",screen,region,city,props,") != std::string::npos);
  CHECK(s.dashboard->stop() == 0);
}
