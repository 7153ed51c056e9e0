// The collector's promise under failure, with the real binary and a real Redis: a steady stream
// of hits through a Redis outage and a SIGKILL of the collector in the middle of it. Every hit
// answered 202 must end up in the stream exactly once (one entry, one event_id), and no client IP
// may be written anywhere. An XADD that Redis ran but never answered (it read the command in the
// same turn as its SHUTDOWN) is spooled as uncertain and found in the stream before the replay,
// and the replay is SIGKILLed too: its in-flight batch is found after the restart.
#include <atomic>
#include <catch2/catch.hpp>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "plumb/queue/stream.hpp"
#include "plumb/redis/connection.hpp"
#include "plumb/test_support/environment.hpp"
#include "plumb/test_support/process.hpp"
#include "plumb/test_support/redis_server.hpp"

using namespace plumb;
using namespace plumb::test_support;

namespace {

// Documentation addresses (RFC 5737/3849), sent as X-Forwarded-For through a trusted proxy.
const std::vector<std::string> canary_ips{"203.0.113.77", "198.51.100.201", "2001:db8::c0ff:ee"};

// Every form in which an address could leak: text, hex of its bytes, raw bytes, IPv4-mapped.
std::vector<std::string> canary_forms() {
  return {"203.0.113.77",
          "198.51.100.201",
          "2001:db8::c0ff:ee",
          "::ffff:203.0.113.77",
          "cb00714d",
          "CB00714D",
          "c63364c9",
          std::string("\xcb\x00\x71\x4d", 4),
          std::string("\xc6\x33\x64\xc9", 4),
          "20010db8000000000000000000c0ffee"};
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Files under `dir` (recursively) that contain a canary, as "path: form".
std::vector<std::string> leaks_in(const std::filesystem::path& dir) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) {
      continue;
    }
    const std::string content = read_file(entry.path());
    for (const auto& form : canary_forms()) {
      if (content.find(form) != std::string::npos) {
        found.push_back(entry.path().string() + ": " + form);
      }
    }
  }
  return found;
}

int outage_seconds() {
  const char* value = std::getenv("PLUMB_TEST_OUTAGE_SECONDS");
  return value != nullptr ? std::atoi(value) : 30;
}

long long metric(std::uint16_t port, const std::string& name) {
  const auto text = http_request("GET", port, "/metrics").body;
  const auto at = text.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::atoll(text.c_str() + at + name.size() + 2);
}

}  // namespace

TEST_CASE(
    "every accepted hit is in the stream exactly once through a Redis outage and collector "
    "SIGKILLs") {
  redis_server redis;
  temp_dir spool("plumb-spool-");
  const events::keys keys("outage:");
  {
    redis::connection admin(*redis::endpoint::parse_url(redis.url()));
    admin.command({"HSET", keys.site_map(), "outage.example", R"({"id":7,"tz":"UTC"})"});
  }
  const std::map<std::string, std::string> env{
      {"PLUMB_REDIS_URL", redis.url()},           {"PLUMB_REDIS_PREFIX", keys.prefix()},
      {"PLUMB_SPOOL_DIR", spool.path().string()}, {"PLUMB_REDIS_TIMEOUT_MS", "200"},
      {"PLUMB_SITE_REFRESH_MS", "200"},           {"PLUMB_TRUSTED_PROXIES", "127.0.0.1/32"},
      {"PLUMB_COLLECTOR_LISTEN", "127.0.0.1:0"}};
  std::string logs;
  auto collector =
      std::make_unique<process>(service_binary("collector"), std::vector<std::string>{}, env);
  std::atomic<std::uint16_t> port = collector->wait_for_port();

  // A steady stream of hits, each with its own URL, from a background thread.
  std::mutex mutex;
  std::set<std::string> accepted;
  std::atomic<int> refused_by_server{0};    // 4xx/5xx answers: must stay zero
  std::atomic<int> connection_failures{0};  // while the collector is dead: expected
  std::atomic<bool> sending{true};
  std::thread sender([&] {
    for (int i = 0; sending.load(); ++i) {
      const std::string url = "https://outage.example/hit/" + std::to_string(i);
      try {
        const auto reply = http_request(
            "POST", port.load(), "/api/event",
            R"({"n":"pageview","u":")" + url + R"(","d":"outage.example"})",
            {{"X-Forwarded-For", canary_ips[static_cast<std::size_t>(i) % canary_ips.size()]},
             {"User-Agent", "Mozilla/5.0 outage-test"}});
        if (reply.status == 202) {
          const std::lock_guard lock(mutex);
          accepted.insert(url);
        } else {
          ++refused_by_server;
        }
      } catch (const std::exception&) {
        ++connection_failures;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });

  std::this_thread::sleep_for(std::chrono::seconds(1));
  redis.stop();
  const int outage = outage_seconds();
  std::this_thread::sleep_for(std::chrono::seconds(outage) * 2 / 3);
  CHECK(metric(port, "plumb_collector_spooled_total") > 0);
  // SIGKILL mid-spool: whatever it had answered 202 for must already be on disk.
  logs += collector->output();
  collector->stop(SIGKILL);
  collector.reset();
  std::this_thread::sleep_for(std::chrono::seconds(outage) / 3);
  redis.start();
  collector =
      std::make_unique<process>(service_binary("collector"), std::vector<std::string>{}, env);
  port = collector->wait_for_port();
  // SIGKILL the restarted collector as soon as it listens, while it replays the spool; a third
  // one finishes the replay.
  logs += collector->output();
  collector->stop(SIGKILL);
  collector =
      std::make_unique<process>(service_binary("collector"), std::vector<std::string>{}, env);
  port = collector->wait_for_port();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  sending = false;
  sender.join();

  for (int attempt = 0; attempt < 600 && metric(port, "plumb_collector_spool_pending_events") != 0;
       ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(metric(port, "plumb_collector_spool_pending_events") == 0);

  redis::connection reader(*redis::endpoint::parse_url(redis.url()));
  const auto entries = reader.command({"XRANGE", keys.events_stream(), "-", "+"});
  std::map<std::string, std::set<std::string>> ids_by_url;
  std::map<std::string, events::fields> fields_by_id;
  std::size_t appended_again = 0;  // the same event twice: must never happen
  std::size_t id_conflicts = 0;    // one event_id on different events: must never happen
  std::size_t events_in_stream = 0;
  for (const auto& entry : entries.elements) {
    for (const auto& fields : queue::entry_events(entry.elements.at(1))) {
      ++events_in_stream;
      const auto event = events::decode(fields);
      REQUIRE(event);
      const std::string id = event->id.to_string();
      ids_by_url[event->url].insert(id);
      const auto [known, inserted] = fields_by_id.emplace(id, fields);
      if (!inserted && known->second == fields) {
        ++appended_again;
      } else if (!inserted) {
        ++id_conflicts;
      }
    }
  }
  INFO("accepted " << accepted.size() << ", stream " << events_in_stream << ", appended again "
                   << appended_again << ", connection failures " << connection_failures.load());
  CHECK(refused_by_server.load() == 0);
  CHECK(accepted.size() > 1'000);
  std::size_t missing = 0;
  std::size_t counted_twice = 0;  // one hit stored under two event_ids
  for (const auto& url : accepted) {
    const auto found = ids_by_url.find(url);
    missing += found == ids_by_url.end() ? 1U : 0U;
    counted_twice += found != ids_by_url.end() && found->second.size() > 1 ? 1U : 0U;
  }
  CHECK(missing == 0);
  CHECK(counted_twice == 0);
  CHECK(id_conflicts == 0);
  CHECK(appended_again == 0);
  CHECK(fields_by_id.size() == events_in_stream);  // every event_id exactly once

  // Privacy: no canary address in Redis's files (AOF and a fresh RDB), the spool, or the logs.
  reader.command({"SAVE"});
  logs += collector->output();
  collector->stop();
  CHECK(leaks_in(redis.data_dir()).empty());
  CHECK(leaks_in(spool.path()).empty());
  for (const auto& form : canary_forms()) {
    CHECK(logs.find(form) == std::string::npos);
  }
}
