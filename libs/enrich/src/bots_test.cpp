#include "plumb/enrich/bots.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>

#include "plumb/json/value.hpp"

using plumb::enrich::bot_detector;

TEST_CASE("every example user agent of the pinned crawler list is detected") {
  // The package's own instances for each pattern: read from the installed npm package.
  std::ifstream in(PLUMB_CRAWLERS_JSON);
  REQUIRE(in);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const auto doc = plumb::json::parse(text, 8);
  REQUIRE(doc);
  const auto detector = bot_detector::builtin();
  CHECK(detector.pattern_count() == doc->as_array()->size());
  std::size_t instances = 0;
  std::vector<std::string> missed;
  for (const auto& entry : *doc->as_array()) {
    if (const auto* list = entry.find("instances"); list != nullptr && list->as_array() != nullptr) {
      for (const auto& ua : *list->as_array()) {
        ++instances;
        if (!detector.is_bot(*ua.as_string())) {
          missed.push_back(*ua.as_string());
        }
      }
    }
  }
  INFO("first missed: " << (missed.empty() ? std::string("none") : missed.front()));
  CHECK(instances > 1'000);
  CHECK(missed.empty());
}

TEST_CASE("real browsers are not bots, missing user agents are") {
  const auto detector = bot_detector::builtin();
  for (const char* browser : {
           "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
           "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
           "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
           "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
           "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
           "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0"}) {
    INFO(browser);
    CHECK_FALSE(detector.is_bot(browser));
  }
  CHECK(detector.is_bot(""));
  CHECK(detector.is_bot("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"));
  CHECK(detector.is_bot("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36"));
  CHECK(detector.is_bot("curl/8.4.0"));
  CHECK(detector.is_bot("python-requests/2.31.0"));
}

TEST_CASE("bad pattern lists are refused with a reason") {
  CHECK_FALSE(bot_detector::from_json("{}"));
  CHECK_FALSE(bot_detector::from_json(R"([{"url":"x"}])"));
  CHECK(bot_detector::from_json(R"([{"pattern":"a(b"}])").error().find("a(b") != std::string::npos);
  const auto tiny = bot_detector::from_json(R"([{"pattern":"MyBot"}])");
  REQUIRE(tiny);
  CHECK(tiny->is_bot("Mozilla/5.0 MyBot/1.0"));
  CHECK_FALSE(tiny->is_bot("Mozilla/5.0 mybot/1.0"));  // patterns are case-sensitive, as published
}
