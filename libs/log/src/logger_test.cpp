#include "plumb/log/logger.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

#include "plumb/json/value.hpp"

namespace {
std::string read_all(std::FILE* f) {
  std::rewind(f);
  std::string out;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) {
    out.append(buffer, n);
  }
  return out;
}
}  // namespace

TEST_CASE("logger writes one JSON object per line with the standard keys") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  plumb::log::logger log("collector", plumb::log::level::info, f);
  log.debug("hidden");
  log.info("listening", {{"port", 8480}, {"address", "127.0.0.1"}, {"quote", "a\"b\n"}});
  const std::string text = read_all(f);
  std::fclose(f);
  REQUIRE(std::count(text.begin(), text.end(), '\n') == 1);
  const auto doc = plumb::json::parse(text.substr(0, text.size() - 1));
  REQUIRE(doc);
  CHECK(*doc->find("svc")->as_string() == "collector");
  CHECK(*doc->find("level")->as_string() == "info");
  CHECK(*doc->find("msg")->as_string() == "listening");
  CHECK(*doc->find("port")->as_int() == 8480);
  CHECK(*doc->find("quote")->as_string() == "a\"b\n");
  CHECK(doc->find("ts")->as_string()->size() == 24);
}

TEST_CASE("rate-limited lines are suppressed and counted") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  plumb::log::logger log("worker", plumb::log::level::info, f);
  for (int i = 0; i < 5; ++i) {
    log.rate_limited(plumb::log::level::warn, "k", std::chrono::hours(1), "redis down");
  }
  const std::string text = read_all(f);
  std::fclose(f);
  CHECK(std::count(text.begin(), text.end(), '\n') == 1);
}
