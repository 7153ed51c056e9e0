// plumbctl against real PostgreSQL and Redis: exit statuses, messages and idempotent set-up.
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <sstream>

#include "commands.hpp"
#include "plumb/core/clock.hpp"
#include "plumb/core/event_id.hpp"
#include "plumb/queue/stream.hpp"
#include "plumb/redis/connection.hpp"
#include "plumb/test_support/environment.hpp"

using namespace plumb;

namespace {

struct outcome {
  int status;
  std::string out;
  std::string err;
};

class cli {
 public:
  explicit cli(std::map<std::string, std::string> env) : env_(std::move(env)) {}
  outcome operator()(std::vector<std::string> args, const std::string& input = {}) const {
    std::istringstream in(input);
    std::ostringstream out;
    std::ostringstream err;
    const int status = plumbctl::run(
        args,
        [this](const std::string& name) -> std::optional<std::string> {
          const auto it = env_.find(name);
          return it == env_.end() ? std::nullopt : std::optional(it->second);
        },
        in, out, err);
    return {status, out.str(), err.str()};
  }

 private:
  std::map<std::string, std::string> env_;
};

}  // namespace

TEST_CASE("plumbctl sets up accounts, sites and keys, idempotently where asked") {
  test_support::scoped_database db;
  const std::string prefix = test_support::unique_name("t:") + ":";
  const cli plumbctl({{"PLUMB_PG_DSN", db.dsn()},
                      {"PLUMB_REDIS_URL", test_support::redis_url()},
                      {"PLUMB_REDIS_PREFIX", prefix}});

  CHECK(plumbctl({"migrate"}).status == 0);
  CHECK(plumbctl({"migrate"}).out.find("schema version") != std::string::npos);

  const std::vector<std::string> create_account{"account",       "create",     "--email",
                                                "a@example.com", "--password", "long enough"};
  CHECK(plumbctl(create_account).status == 0);
  const auto duplicate = plumbctl(create_account);
  CHECK(duplicate.status == 1);
  CHECK(duplicate.err.find("already exists") != std::string::npos);
  auto again = create_account;
  again.push_back("--exists-ok");
  CHECK(plumbctl(again).status == 0);

  const auto bad_tz = plumbctl(
      {"site", "create", "a.example", "--tz", "Nowhere/Land", "--account", "a@example.com"});
  CHECK(bad_tz.status == 1);
  CHECK(bad_tz.err.find("timezone") != std::string::npos);
  const auto site =
      plumbctl({"site", "create", "www.A.example", "--tz", "UTC", "--account", "a@example.com"});
  INFO(site.err);
  CHECK(site.status == 0);
  CHECK(site.out.find("a.example (UTC)") != std::string::npos);
  CHECK(plumbctl({"site", "create", "a.example", "--tz", "UTC", "--account", "a@example.com"})
            .status == 1);
  CHECK(plumbctl({"site", "create", "a.example", "--tz", "UTC", "--account", "a@example.com",
                  "--exists-ok"})
            .status == 0);

  CHECK(plumbctl({"site", "create", "private.example", "--tz", "UTC", "--account", "a@example.com",
                  "--ignore-dnt"})
            .status == 0);

  // The site map collectors read was published to Redis, settings included.
  redis::connection redis(*redis::endpoint::parse_url(test_support::redis_url()));
  const auto published = redis.command({"HGET", prefix + "sites", "a.example"});
  CHECK(published.str.find("\"tz\":\"UTC\"") != std::string::npos);
  CHECK(published.str.find("dnt") == std::string::npos);
  CHECK(redis.command({"HGET", prefix + "sites", "private.example"}).str.find("\"dnt\":true") !=
        std::string::npos);
  redis.command({"DEL", prefix + "sites"});

  const auto key = plumbctl({"api-key", "create", "--account", "a@example.com"});
  CHECK(key.status == 0);
  CHECK(key.out.rfind("plumb_", 0) == 0);
  CHECK(plumbctl({"api-key", "create", "--account", "nobody@example.com"}).status == 1);
}

TEST_CASE("plumbctl refuses bad command lines with exit status 2") {
  const cli plumbctl({});
  CHECK(plumbctl({}).status == 2);
  CHECK(plumbctl({"frobnicate"}).status == 2);
  CHECK(plumbctl({"account", "create", "--email"}).status == 2);
  CHECK(plumbctl({"account", "create", "--bogus", "x"}).status == 2);
  const auto missing = plumbctl({"api-key", "create"});
  CHECK(missing.status == 2);
  CHECK(missing.err.find("--account is required") != std::string::npos);
  CHECK(plumbctl({"--help"}).status == 0);
  CHECK(plumbctl({"--help"}).out.find("plumbctl migrate") != std::string::npos);
}

TEST_CASE("plumbctl lists dead letters and puts them back on the stream") {
  const std::string prefix = test_support::unique_name("t:") + ":";
  const events::keys keys(prefix);
  redis::connection redis(*redis::endpoint::parse_url(test_support::redis_url()));
  queue::consumer consumer(redis, keys, "w");
  consumer.ensure_group();
  const std::string record =
      queue::serialize({{"v", "9"}, {"n", "pageview"}, {"ua", "Mozilla/5.0"}});
  queue::append(redis, keys, std::span<const std::string>(&record, 1));
  consumer.dead_letter(consumer.read_new(1, std::chrono::milliseconds(100)).at(0),
                       "v: unsupported stream entry version");

  const cli plumbctl(
      {{"PLUMB_REDIS_URL", test_support::redis_url()}, {"PLUMB_REDIS_PREFIX", prefix}});
  const auto listed = plumbctl({"dlq", "list"});
  CHECK(listed.status == 0);
  CHECK(listed.out.find(R"("error":"v: unsupported stream entry version")") != std::string::npos);
  CHECK(listed.out.find(R"("n":"pageview")") != std::string::npos);
  CHECK(listed.out.find("Mozilla") == std::string::npos);
  CHECK(plumbctl({"dlq", "retry"}).status == 2);
  CHECK(plumbctl({"dlq", "retry", "--id", "0-1"}).status == 1);
  const auto retried = plumbctl({"dlq", "retry", "--all"});
  CHECK(retried.status == 0);
  CHECK(retried.out.find("put 1 entries") != std::string::npos);
  CHECK(plumbctl({"dlq", "list"}).out.empty());
  CHECK(consumer.read_new(1, std::chrono::milliseconds(100)).size() == 1);
  redis.command({"DEL", keys.events_stream(), keys.dead_letter_stream()});
}

TEST_CASE("plumbctl ua prints one JSON object per user agent") {
  const cli plumbctl({});
  const auto result =
      plumbctl({"ua"},
               "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
               "(KHTML, like Gecko) "
               "Version/17.1 Mobile/15E148 Safari/604.1\n"
               "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)\n");
  CHECK(result.status == 0);
  CHECK(
      result.out ==
      R"({"browser":"Mobile Safari","browser_version":"17","os":"iOS","os_version":"17.1","device":"mobile","bot":false})"
      "\n"
      R"({"browser":"Googlebot","browser_version":"2","os":"Other","os_version":"","device":"","bot":true})"
      "\n");
}

TEST_CASE("plumbctl referrer prints source, medium and search term per referrer") {
  const cli plumbctl({});
  const auto result = plumbctl({"referrer"},
                               "https://www.google.com/search?q=cookieless+analytics\n"
                               "https://t.co/abc\n"
                               "https://unknown-blog.example/post\n"
                               "\n");
  CHECK(result.status == 0);
  CHECK(result.out == R"({"source":"Google","medium":"search","term":"cookieless analytics"})"
                      "\n"
                      R"({"source":"Twitter","medium":"social"})"
                      "\n"
                      R"({"source":"unknown-blog.example","medium":"referral"})"
                      "\n"
                      R"json({"source":"Direct / None","medium":"(none)"})json"
                      "\n");
}

namespace {

// Every event of the ingest stream as field -> value maps, oldest first.
std::vector<std::map<std::string, std::string>> stream_entries(redis::connection& redis,
                                                               const events::keys& keys) {
  std::vector<std::map<std::string, std::string>> entries;
  const auto reply = redis.command({"XRANGE", keys.events_stream(), "-", "+"});
  for (const auto& entry : reply.elements) {
    for (auto& event : queue::entry_events(entry.elements.at(1))) {
      std::map<std::string, std::string> fields;
      for (auto& [name, value] : event) {
        fields[name] = std::move(value);
      }
      entries.push_back(std::move(fields));
    }
  }
  return entries;
}

}  // namespace

// A migrated database with one account and a UTC site per domain, and a plumbctl for it writing
// to its own stream prefix.
struct gen_fixture {
  test_support::scoped_database db;
  std::string prefix = test_support::unique_name("t:") + ":";
  events::keys keys{prefix};
  cli plumbctl{{{"PLUMB_PG_DSN", db.dsn()},
                {"PLUMB_REDIS_URL", test_support::redis_url()},
                {"PLUMB_REDIS_PREFIX", prefix}}};

  explicit gen_fixture(const std::vector<std::string>& domains) {
    REQUIRE(plumbctl({"migrate"}).status == 0);
    REQUIRE(plumbctl({"account", "create", "--email", "g@example.com", "--password", "long enough"})
                .status == 0);
    for (const auto& domain : domains) {
      REQUIRE(plumbctl({"site", "create", domain, "--tz", "UTC", "--account", "g@example.com"})
                  .status == 0);
    }
  }
};

TEST_CASE("plumbctl gen puts deterministic traffic for known sites on the stream") {
  gen_fixture f({"a.example", "b.example"});
  const auto& keys = f.keys;
  const auto& plumbctl = f.plumbctl;
  redis::connection redis(*redis::endpoint::parse_url(test_support::redis_url()));

  const std::vector<std::string> args{
      "gen",        "--site",      "a.example", "--site", "b.example",
      "--weight",   "b.example=3", "--events",  "1000",   "--start",
      "2026-03-01", "--days",      "2",         "--seed", "7"};
  const auto first = plumbctl(args);
  INFO(first.err);
  REQUIRE(first.status == 0);
  CHECK(first.out.rfind(R"({"events":)", 0) == 0);
  CHECK(first.out.find(R"("visits":)") != std::string::npos);
  CHECK(first.out.find(R"({"domain":"a.example","id":)") != std::string::npos);
  CHECK(first.out.find(R"({"domain":"b.example","id":)") != std::string::npos);

  const auto entries = stream_entries(redis, keys);
  REQUIRE(entries.size() >= 1000);
  CHECK(first.out.find(R"({"events":)" + std::to_string(entries.size()) + ",") == 0);
  std::map<std::string, std::size_t> per_site;
  const std::int64_t start_ms = 1'772'323'200'000;  // 2026-03-01T00:00:00Z
  for (const auto& e : entries) {
    ++per_site[e.at("site")];
    const auto ts = std::stoll(e.at("ts"));
    CHECK(ts >= start_ms);
    CHECK(ts < start_ms + 3 * 86'400'000);  // two days, plus visits running past the end
  }
  REQUIRE(per_site.size() == 2);
  // b.example has three times a.example's weight: clearly more of the traffic.
  CHECK(per_site.rbegin()->second > 2 * per_site.begin()->second);

  // The same seed gives the same events, ids included.
  redis.command({"DEL", keys.events_stream()});
  REQUIRE(plumbctl(args).status == 0);
  const auto again = stream_entries(redis, keys);
  REQUIRE(again.size() == entries.size());
  CHECK(again.front() == entries.front());
  CHECK(again.back() == entries.back());
  redis.command({"DEL", keys.events_stream()});
}

TEST_CASE("plumbctl gen --live stamps events at send time") {
  gen_fixture f({"a.example"});
  const auto& keys = f.keys;
  const auto& plumbctl = f.plumbctl;
  redis::connection redis(*redis::endpoint::parse_url(test_support::redis_url()));

  const auto before = core::unix_ms(core::system_clock::instance().now());
  const auto live = plumbctl({"gen", "--site", "a.example", "--events", "200", "--live", "100000"});
  INFO(live.err);
  REQUIRE(live.status == 0);
  const auto after = core::unix_ms(core::system_clock::instance().now());
  const auto entries = stream_entries(redis, keys);
  REQUIRE(entries.size() >= 200);
  std::set<std::string> ids;
  std::int64_t previous = 0;
  for (const auto& e : entries) {
    const auto ts = std::stoll(e.at("ts"));
    CHECK(ts >= before);
    CHECK(ts <= after);
    CHECK(ts >= previous);  // datagen's order, stamped as sent
    previous = ts;
    const auto id = core::event_id::parse(e.at("id"));
    REQUIRE(id);
    CHECK(id->unix_ms() == ts);
    ids.insert(e.at("id"));
  }
  CHECK(ids.size() == entries.size());
  redis.command({"DEL", keys.events_stream()});
}

TEST_CASE("plumbctl gen refuses unknown sites and bad options") {
  test_support::scoped_database db;
  const std::string prefix = test_support::unique_name("t:") + ":";
  const cli plumbctl({{"PLUMB_PG_DSN", db.dsn()},
                      {"PLUMB_REDIS_URL", test_support::redis_url()},
                      {"PLUMB_REDIS_PREFIX", prefix}});
  REQUIRE(plumbctl({"migrate"}).status == 0);
  const auto unknown = plumbctl({"gen", "--site", "nowhere.example", "--events", "10"});
  CHECK(unknown.status == 1);
  CHECK(unknown.err.find("no site with domain nowhere.example") != std::string::npos);

  CHECK(plumbctl({"gen", "--events", "10"}).status == 2);
  CHECK(plumbctl({"gen", "--site", "a.example"}).status == 2);
  CHECK(plumbctl({"gen", "--site", "a.example", "--events", "-1"}).status == 2);
  CHECK(
      plumbctl({"gen", "--site", "a.example", "--events", "10", "--start", "2026-02-30"}).status ==
      2);
  CHECK(plumbctl({"gen", "--site", "a.example", "--events", "10", "--weight", "b.example=2"})
            .status == 2);
  CHECK(plumbctl({"gen", "--site", "a.example", "--events", "10", "--weight", "a.example=0"})
            .status == 2);
  CHECK(plumbctl({"gen", "--site", "a.example", "--events", "10", "--live", "0"}).status == 2);
  CHECK(plumbctl({"gen", "--site", "a.example", "--site", "a.example", "--events", "10"}).status ==
        2);
}
