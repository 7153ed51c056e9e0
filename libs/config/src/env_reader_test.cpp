#include "plumb/config/env_reader.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <map>

using namespace plumb::config;

namespace {
lookup_fn from_map(std::map<std::string, std::string> values) {
  return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
    const auto it = values.find(name);
    if (it == values.end()) {
      return std::nullopt;
    }
    return it->second;
  };
}
}  // namespace

TEST_CASE("env_reader reads values and falls back to defaults") {
  env_reader env(from_map({{"PLUMB_A", "7"}, {"PLUMB_L", "[::1]:8080"}, {"PLUMB_F", "yes"}}));
  CHECK(env.integer("PLUMB_A", 1, 0, 10) == 7);
  CHECK(env.integer("PLUMB_B", 3, 0, 10) == 3);
  CHECK(env.flag("PLUMB_F", false));
  const auto l = env.listen("PLUMB_L", "127.0.0.1:0");
  CHECK(l.host == "::1");
  CHECK(l.port == 8080);
  CHECK(env.text("PLUMB_T", "dflt") == "dflt");
  CHECK_NOTHROW(env.finish());
}

TEST_CASE("env_reader reports every problem at once") {
  env_reader env(from_map({{"PLUMB_A", "x"}, {"PLUMB_B", "99"}, {"PLUMB_L", "nohost"},
                           {"PLUMB_F", "maybe"}, {"PLUMB_S", "changeme"}}));
  env.integer("PLUMB_A", 1, 0, 10);
  env.integer("PLUMB_B", 1, 0, 10);
  env.listen("PLUMB_L", "127.0.0.1:0");
  env.flag("PLUMB_F", false);
  env.secret("PLUMB_S", 8);
  env.required_text("PLUMB_R");
  CHECK(env.problems().size() == 6);
  try {
    env.finish();
    FAIL("finish() should throw");
  } catch (const invalid_config& e) {
    const std::string what = e.what();
    for (const char* name : {"PLUMB_A", "PLUMB_B", "PLUMB_L", "PLUMB_F", "PLUMB_S", "PLUMB_R"}) {
      CHECK(what.find(name) != std::string::npos);
    }
  }
}

TEST_CASE("secrets come from *_FILE and are redacted") {
  const std::string path = "env_reader_test_secret.txt";
  {
    std::ofstream out(path);
    out << "a-long-enough-secret\n";
  }
  env_reader env(from_map({{"PLUMB_S_FILE", path}}));
  CHECK(env.secret("PLUMB_S", 16) == "a-long-enough-secret");
  std::remove(path.c_str());
  REQUIRE(env.effective().size() == 1);
  CHECK(env.effective()[0].second == "***");
}

TEST_CASE("connection URLs are logged without their password") {
  CHECK(redact_url("postgresql://plumb:s3cr3t@127.0.0.1:5432/plumb") ==
        "postgresql://plumb:***@127.0.0.1:5432/plumb");
  CHECK(redact_url("redis://:pw@127.0.0.1:6379/0") == "redis://:***@127.0.0.1:6379/0");
  CHECK(redact_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0");
  CHECK(redact_url("host=x user=y") == "host=x user=y");
}
