#include "plumb/http/client_address.hpp"

#include <algorithm>

#include "plumb/core/text.hpp"

namespace plumb::http {
namespace {
// HTTP header whitespace (RFC 9110 5.6.3).
std::string_view trim(std::string_view s) { return core::trim(s, " \t"); }
}  // namespace

using core::cidr;
using core::ip_address;

std::string client_address(std::string_view peer, std::optional<std::string_view> forwarded_for,
                           const std::vector<cidr>& trusted_proxies) {
  auto trusted = [&trusted_proxies](const ip_address& a) {
    return std::any_of(trusted_proxies.begin(), trusted_proxies.end(),
                       [&a](const cidr& c) { return c.contains(a); });
  };
  const auto peer_address = ip_address::parse(peer);
  if (!peer_address) {
    return std::string(peer);
  }
  ip_address client = *peer_address;
  if (!forwarded_for || !trusted(client)) {
    return client.to_string();
  }
  // Walk right to left: each hop was appended by the proxy in front of it.
  std::string_view chain = *forwarded_for;
  while (trusted(client) && !trim(chain).empty()) {
    const auto comma = chain.rfind(',');
    const auto hop = ip_address::parse(trim(comma == std::string_view::npos ? chain : chain.substr(comma + 1)));
    if (!hop) {
      break;
    }
    client = *hop;
    chain = comma == std::string_view::npos ? std::string_view() : chain.substr(0, comma);
  }
  return client.to_string();
}

}  // namespace plumb::http
