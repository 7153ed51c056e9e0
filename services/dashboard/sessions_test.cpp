#include "sessions.hpp"

#include <catch2/catch.hpp>

using namespace plumb;

namespace {
http::request with_cookies(std::vector<std::string> values) {
  http::request req;
  for (auto& v : values) {
    req.headers.push_back({"Cookie", std::move(v)});
  }
  return req;
}
}  // namespace

TEST_CASE("session cookies are read from any Cookie header and written with every protection") {
  CHECK(dashboard::cookie_value(with_cookies({"a=1; __Host-plumb_session=abc; b=2"}), "__Host-plumb_session") == "abc");
  CHECK(dashboard::cookie_value(with_cookies({"a=1", "__Host-plumb_session=xyz"}), "__Host-plumb_session") == "xyz");
  CHECK_FALSE(dashboard::cookie_value(with_cookies({"plumb_session=abc"}), "__Host-plumb_session"));
  CHECK_FALSE(dashboard::cookie_value(with_cookies({}), "__Host-plumb_session"));

  const auto set = dashboard::session_cookie_header("__Host-plumb_session", "tok", std::chrono::hours(24));
  CHECK(set == "__Host-plumb_session=tok; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=86400");
  CHECK(dashboard::expired_cookie_header("__Host-plumb_session").find("Max-Age=0") != std::string::npos);
}
