#include "client_ip.hpp"

#include <catch2/catch.hpp>

using namespace plumb::collector;

namespace {
std::vector<cidr> proxies(std::string_view list) { return *parse_cidr_list(list); }
}  // namespace

TEST_CASE("addresses parse and print canonically") {
  CHECK(ip_address::parse("203.0.113.7")->to_string() == "203.0.113.7");
  CHECK(ip_address::parse("2001:DB8:0:0::1")->to_string() == "2001:db8::1");
  CHECK(ip_address::parse("[::1]")->to_string() == "::1");
  CHECK(ip_address::parse("::ffff:192.0.2.1")->to_string() == "192.0.2.1");
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "::zz", " 1.2.3.4", "example.com",
                          "1.2.3.4:80"}) {
    INFO(bad);
    CHECK_FALSE(ip_address::parse(bad));
  }
}

TEST_CASE("CIDR ranges match v4 and v6 and reject bad input") {
  const auto ranges = proxies("10.0.0.0/8, 192.168.1.1, 2001:db8::/32");
  REQUIRE(ranges.size() == 3);
  CHECK(ranges[0].contains(*ip_address::parse("10.200.3.4")));
  CHECK_FALSE(ranges[0].contains(*ip_address::parse("11.0.0.1")));
  CHECK(ranges[1].contains(*ip_address::parse("192.168.1.1")));
  CHECK_FALSE(ranges[1].contains(*ip_address::parse("192.168.1.2")));
  CHECK(ranges[2].contains(*ip_address::parse("2001:db8:ffff::1")));
  CHECK_FALSE(ranges[2].contains(*ip_address::parse("2001:db9::1")));
  CHECK(proxies("0.0.0.0/0")[0].contains(*ip_address::parse("8.8.8.8")));
  CHECK_FALSE(proxies("0.0.0.0/0")[0].contains(*ip_address::parse("2001:db8::1")));
  CHECK(parse_cidr_list("")->empty());
  CHECK_FALSE(parse_cidr_list("10.0.0.0/33"));
  CHECK_FALSE(parse_cidr_list("10.0.0.0/"));
  CHECK_FALSE(parse_cidr_list("10.0.0.0/8,nonsense"));
  CHECK_FALSE(parse_cidr_list("::/129"));
}

TEST_CASE("X-Forwarded-For is believed only through trusted proxies") {
  const auto trusted = proxies("10.0.0.0/8");
  // No proxies configured: the header is ignored, whatever it says.
  CHECK(client_address("198.51.100.9", "203.0.113.7", {}) == "198.51.100.9");
  // Untrusted peer sending a forged header: ignored.
  CHECK(client_address("198.51.100.9", "203.0.113.7", trusted) == "198.51.100.9");
  // Trusted load balancer in front: the client is the right-most hop.
  CHECK(client_address("10.0.0.5", "203.0.113.7", trusted) == "203.0.113.7");
  // The client forged an entry, the proxy appended the real address: the forged one is ignored.
  CHECK(client_address("10.0.0.5", "1.1.1.1, 203.0.113.7", trusted) == "203.0.113.7");
  // Two trusted proxies in a row.
  CHECK(client_address("10.0.0.5", "203.0.113.7, 10.0.0.9", trusted) == "203.0.113.7");
  // A malformed hop stops the walk at the last good address.
  CHECK(client_address("10.0.0.5", "203.0.113.7, garbage", trusted) == "10.0.0.5");
  CHECK(client_address("10.0.0.5", "", trusted) == "10.0.0.5");
  CHECK(client_address("10.0.0.5", std::nullopt, trusted) == "10.0.0.5");
  // IPv6 and spacing.
  CHECK(client_address("10.0.0.5", " 2001:db8::7 ", trusted) == "2001:db8::7");
}
