#include "plumb/events/site_map.hpp"

#include <catch2/catch.hpp>

using namespace plumb::events;

TEST_CASE("site descriptors round-trip and malformed ones are refused") {
  const site_descriptor site{42, "Asia/Kolkata", false, {}, {}};
  const auto decoded = decode_site_descriptor(encode_site_descriptor(site));
  REQUIRE(decoded);
  CHECK(*decoded == site);
  const site_descriptor private_site{7, "UTC", true, {}, {}};
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

TEST_CASE("excluded IP ranges and allowed hostnames travel in the descriptor and filter hits") {
  site_descriptor site{9, "UTC", false, {}, {}};
  site.excluded_ip_ranges = *plumb::core::parse_cidr_list("10.0.0.0/8, 2001:db8::/32, 192.0.2.7");
  site.allowed_hostnames = {"example.com", "*.shop.example.com"};
  const auto decoded = decode_site_descriptor(encode_site_descriptor(site));
  REQUIRE(decoded);
  CHECK(*decoded == site);

  const auto ip = [](std::string_view text) { return *plumb::core::ip_address::parse(text); };
  CHECK(address_excluded(site, ip("10.1.2.3")));
  CHECK(address_excluded(site, ip("2001:db8::1")));
  CHECK(address_excluded(site, ip("192.0.2.7")));
  CHECK_FALSE(address_excluded(site, ip("192.0.2.8")));
  CHECK_FALSE(address_excluded(site, ip("11.0.0.1")));

  CHECK(hostname_allowed(site, "example.com"));
  CHECK(hostname_allowed(site, "eu.shop.example.com"));
  CHECK_FALSE(hostname_allowed(site, "shop.example.com"));
  CHECK_FALSE(hostname_allowed(site, "www.example.com"));
  CHECK_FALSE(hostname_allowed(site, "evilexample.com"));
  CHECK_FALSE(hostname_allowed(site, "xshop.example.com"));
  CHECK(hostname_allowed(site_descriptor{1, "UTC", false, {}, {}}, "anything.example"));

  CHECK_FALSE(decode_site_descriptor(R"({"id":1,"tz":"UTC","xip":["nonsense"]})"));
  CHECK_FALSE(decode_site_descriptor(R"({"id":1,"tz":"UTC","hosts":"example.com"})"));
}

TEST_CASE("allowed hostname patterns are normalised and validated") {
  CHECK(*normalize_hostname_pattern(" Example.COM ") == "example.com");
  CHECK(*normalize_hostname_pattern("*.Example.com") == "*.example.com");
  CHECK_FALSE(normalize_hostname_pattern(""));
  CHECK_FALSE(normalize_hostname_pattern("*."));
  CHECK_FALSE(normalize_hostname_pattern("a.*.com"));
  CHECK_FALSE(normalize_hostname_pattern("example.com."));
  CHECK_FALSE(normalize_hostname_pattern("exa mple.com"));
}
