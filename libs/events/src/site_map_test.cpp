#include "plumb/events/site_map.hpp"

#include <catch2/catch.hpp>

using namespace plumb::events;

TEST_CASE("site descriptors round-trip and malformed ones are refused") {
  const site_descriptor site{42, "Asia/Kolkata"};
  const auto decoded = decode_site_descriptor(encode_site_descriptor(site));
  REQUIRE(decoded);
  CHECK(*decoded == site);
  const site_descriptor private_site{7, "UTC", true};
  CHECK(*decode_site_descriptor(encode_site_descriptor(private_site)) == private_site);
  CHECK(encode_site_descriptor(site).find("dnt") == std::string::npos);
  CHECK_FALSE(decode_site_descriptor("{"));
  CHECK_FALSE(decode_site_descriptor(R"({"id":0,"tz":"UTC"})"));
  CHECK_FALSE(decode_site_descriptor(R"({"id":"1","tz":"UTC"})"));
  CHECK_FALSE(decode_site_descriptor(R"({"id":1})"));
}

TEST_CASE("domains are normalised the way customers type them") {
  CHECK(*normalize_domain("Example.COM") == "example.com");
  CHECK(*normalize_domain("https://www.example.com/path?q") == "example.com");
  CHECK(*normalize_domain("shop.example.com:8443") == "shop.example.com");
  CHECK(*normalize_domain("example.com.") == "example.com");
  CHECK_FALSE(normalize_domain(""));
  CHECK_FALSE(normalize_domain("https://"));
  CHECK_FALSE(normalize_domain("exa mple.com"));
  CHECK_FALSE(normalize_domain("a..b"));
  CHECK_FALSE(normalize_domain(std::string(64, 'a') + ".com"));
}
