#include "plumb/core/ip_address.hpp"

#include <catch2/catch.hpp>

using namespace plumb::core;

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
  const auto ranges = *parse_cidr_list("10.0.0.0/8, 192.168.1.1, 2001:db8::/32");
  REQUIRE(ranges.size() == 3);
  CHECK(ranges[0].contains(*ip_address::parse("10.200.3.4")));
  CHECK_FALSE(ranges[0].contains(*ip_address::parse("11.0.0.1")));
  CHECK(ranges[1].contains(*ip_address::parse("192.168.1.1")));
  CHECK_FALSE(ranges[1].contains(*ip_address::parse("192.168.1.2")));
  CHECK(ranges[2].contains(*ip_address::parse("2001:db8:ffff::1")));
  CHECK_FALSE(ranges[2].contains(*ip_address::parse("2001:db9::1")));
  CHECK((*parse_cidr_list("0.0.0.0/0"))[0].contains(*ip_address::parse("8.8.8.8")));
  CHECK_FALSE((*parse_cidr_list("0.0.0.0/0"))[0].contains(*ip_address::parse("2001:db8::1")));
  CHECK(parse_cidr_list("")->empty());
  CHECK_FALSE(parse_cidr_list("10.0.0.0/33"));
  CHECK_FALSE(parse_cidr_list("10.0.0.0/"));
  CHECK_FALSE(parse_cidr_list("10.0.0.0/8,nonsense"));
  CHECK_FALSE(parse_cidr_list("::/129"));
}

TEST_CASE("CIDR ranges print in the form they are parsed from") {
  CHECK(cidr::parse("10.0.0.0/8")->to_string() == "10.0.0.0/8");
  CHECK(cidr::parse(" 2001:db8::/32")->to_string() == "2001:db8::/32");
  CHECK(cidr::parse("192.0.2.1")->to_string() == "192.0.2.1");
  CHECK(cidr::parse("192.0.2.1/32")->to_string() == "192.0.2.1");
  CHECK(*cidr::parse("10.0.0.0/8") == *cidr::parse(cidr::parse("10.0.0.0/8")->to_string()));
}
