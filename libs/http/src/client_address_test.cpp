#include "plumb/http/client_address.hpp"

#include <catch2/catch.hpp>

using plumb::http::client_address;

namespace {
std::vector<plumb::core::cidr> proxies(std::string_view list) { return *plumb::core::parse_cidr_list(list); }
}  // namespace

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
