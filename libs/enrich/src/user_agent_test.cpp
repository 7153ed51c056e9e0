#include "plumb/enrich/user_agent.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

namespace {

using plumb::enrich::cached_user_agent_parser;
using plumb::enrich::user_agent_info;
using plumb::enrich::user_agent_parser;

struct example {
  const char* ua;
  const char* browser;
  const char* browser_version;
  const char* os;
  const char* os_version;
  const char* device;
  bool bot;
};

// Real user agents of current browsers, phones, tablets, bots and tools, with what uap-core
// 0.18.0 and the device heuristic make of them.
constexpr example examples[] = {
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
     "Chrome", "124", "Windows", "10", "desktop", false},
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
     "Firefox", "125", "Windows", "10", "desktop", false},
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
     "Edge", "124", "Windows", "10", "desktop", false},
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
     "Safari", "17", "Mac OS X", "10.15", "desktop", false},
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0",
     "Firefox", "125", "Mac OS X", "14.4", "desktop", false},
    {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
     "Chrome", "124", "Linux", "", "desktop", false},
    {"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
     "Firefox", "125", "Ubuntu", "", "desktop", false},
    {"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
     "Chrome", "124", "Chrome OS", "14541.0", "desktop", false},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
     "Mobile Safari", "17", "iOS", "17.4", "mobile", false},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
     "Chrome Mobile iOS", "124", "iOS", "17.4", "mobile", false},
    {"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
     "Mobile Safari", "16", "iOS", "16.6", "tablet", false},
    {"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
     "Chrome Mobile", "124", "Android", "14", "mobile", false},
    {"Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
     "Samsung Internet", "24", "Android", "13", "mobile", false},
    {"Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0",
     "Firefox Mobile", "125", "Android", "14", "mobile", false},
    {"Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
     "Chrome", "124", "Android", "13", "tablet", false},
    {"Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/124.2.6 like Chrome/124.0.6367.179 Safari/537.36",
     "Amazon Silk", "124", "Android", "9", "tablet", false},
    {"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
     "Googlebot", "2", "Other", "", "", true},
    {"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
     "bingbot", "2", "Other", "", "", true},
    {"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; +http://www.google.com/bot.html) Chrome/124.0.6367.155 Safari/537.36",
     "Googlebot", "2", "Other", "", "", true},
    {"Opera/9.80 (J2ME/MIDP; Opera Mini/9.80 (S60; SymbOS; Opera Mobi/23.348; U; en) Presto/2.5.25 Version/10.54",
     "Opera Mini", "9", "Symbian OS", "", "mobile", false},
    {"Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15063",
     "Edge Mobile", "15", "Windows Phone", "10.0", "mobile", false},
    {"Mozilla/5.0 (Linux; Android 10; BRAVIA 4K GB ATV3) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Android TV",
     "Chrome", "120", "Android", "10", "", false},
    {"curl/8.5.0", "curl", "8", "Other", "", "", false},
};

const user_agent_parser& parser() {
  static const auto builtin = user_agent_parser::builtin();
  return builtin;
}

}  // namespace

TEST_CASE("builtin rules all compile with RE2", "[enrich]") {
  // uap-core 0.18.0 avoids lookarounds and backreferences; a new version that does not shows here.
  CHECK(parser().unsupported_rules() == 0);
  CHECK(parser().rule_count() > 1000);
}

TEST_CASE("real user agents: browser, OS, device type", "[enrich]") {
  for (const auto& e : examples) {
    INFO(e.ua);
    const auto info = parser().parse(e.ua);
    CHECK(info.browser == e.browser);
    CHECK(info.browser_version == e.browser_version);
    CHECK(info.os == e.os);
    CHECK(info.os_version == e.os_version);
    CHECK(info.device == e.device);
    CHECK(info.bot == e.bot);
  }
}

TEST_CASE("unknown, empty and binary user agents give Other", "[enrich]") {
  for (const std::string& ua : {std::string(), std::string("\xff\xfe\x00garbage", 10),
                               std::string(100'000, 'A')}) {
    const auto info = parser().parse(ua);
    CHECK(info.browser == "Other");
    CHECK(info.os == "Other");
    CHECK(info.device_family == "Other");
    CHECK(info.device.empty());
    CHECK_FALSE(info.bot);
  }
}

TEST_CASE("only the first max_user_agent_bytes are read", "[enrich]") {
  const std::string padding(plumb::enrich::max_user_agent_bytes, ' ');
  CHECK(parser().parse(padding + "Firefox/125.0").browser == "Other");
  CHECK(parser().parse("Firefox/125.0" + padding).browser == "Firefox");
}

TEST_CASE("from_yaml: replacements, $N substitution, first match wins, regex_flag", "[enrich]") {
  const auto parsed = user_agent_parser::from_yaml(R"(
user_agent_parsers:
  - regex: '(Foo)Bar/(\d+)'
    family_replacement: '$1 Browser'
  - regex: 'FooBar/(\d+)'
    family_replacement: 'Never'
  - regex: '(Baz)/(\d+)\.(\d+)'
    v1_replacement: '9'
os_parsers:
  - regex: 'QuxOS (\d+)_(\d+)'
    os_replacement: 'Qux'
    os_v1_replacement: '$1'
    os_v2_replacement: '$2'
device_parsers:
  - regex: 'gadget ([a-z]+)'
    regex_flag: 'i'
    device_replacement: 'Gadget $1 $2'
)");
  REQUIRE(parsed);
  const auto foo = parsed->parse("FooBar/12 QuxOS 3_4 GADGET x");
  CHECK(foo.browser == "Foo Browser");
  CHECK(foo.browser_version == "12");  // version fields still read group 2, as in uap
  CHECK(foo.os == "Qux");
  CHECK(foo.os_version == "3.4");
  CHECK(foo.device_family == "Gadget x");  // $2 did not exist: empty, then trimmed
  const auto baz = parsed->parse("Baz/5.6");
  CHECK(baz.browser == "Baz");
  CHECK(baz.browser_version == "9");
  CHECK(baz.os == "Other");
  CHECK(baz.device_family == "Other");
}

TEST_CASE("from_yaml: unsupported regexes are skipped and counted", "[enrich]") {
  const auto parsed = user_agent_parser::from_yaml(R"(
user_agent_parsers:
  - regex: 'A(?=B)'
  - regex: '(A)\1'
  - regex: '(A)'
os_parsers: []
device_parsers: []
)");
  REQUIRE(parsed);
  CHECK(parsed->unsupported_rules() == 2);
  CHECK(parsed->rule_count() == 1);
  CHECK(parsed->parse("AB").browser == "A");
}

TEST_CASE("from_yaml: malformed input is an error", "[enrich]") {
  CHECK_FALSE(user_agent_parser::from_yaml("user_agent_parsers: ["));
  CHECK_FALSE(user_agent_parser::from_yaml("os_parsers: []\ndevice_parsers: []\n"));
  CHECK_FALSE(user_agent_parser::from_yaml(
      "user_agent_parsers:\n  - family_replacement: x\nos_parsers: []\ndevice_parsers: []\n"));
  CHECK_FALSE(user_agent_parser::from_yaml(
      "user_agent_parsers:\n  - regex: [a]\nos_parsers: []\ndevice_parsers: []\n"));
}

TEST_CASE("cache: hits return the same answer, size stays bounded, LRU evicts", "[enrich]") {
  cached_user_agent_parser cached(parser(), 2);
  const std::string chrome = examples[0].ua;
  const std::string firefox = examples[1].ua;
  const std::string iphone = examples[8].ua;
  CHECK(cached.parse(chrome) == parser().parse(chrome));
  CHECK(cached.parse(firefox) == parser().parse(firefox));
  CHECK(cached.parse(chrome) == parser().parse(chrome));  // chrome is now most recent
  CHECK(cached.parse(iphone) == parser().parse(iphone));  // evicts firefox
  CHECK(cached.size() == 2);
  CHECK(cached.parse(firefox).browser == "Firefox");
  CHECK(cached.size() == 2);
  CHECK(cached_user_agent_parser(parser()).capacity() ==
        cached_user_agent_parser::default_capacity);
}

TEST_CASE("cache: concurrent parses agree with the uncached parser", "[enrich]") {
  cached_user_agent_parser cached(parser(), 8);
  constexpr int threads = 4;
  constexpr int rounds = 50;
  std::vector<std::thread> workers;
  std::vector<int> mismatches(threads, 0);
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int r = 0; r < rounds; ++r) {
        const auto& e = examples[static_cast<std::size_t>(r + t) % std::size(examples)];
        if (cached.parse(e.ua).browser != e.browser) {
          ++mismatches[static_cast<std::size_t>(t)];
        }
      }
    });
  }
  for (auto& w : workers) {
    w.join();
  }
  CHECK(mismatches == std::vector<int>(threads, 0));
  CHECK(cached.size() <= 8);
}
