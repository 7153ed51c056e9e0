#pragma once
// Which address a request came from. The socket peer, unless that peer is one of the operator's
// trusted proxies, in which case X-Forwarded-For is believed — but only as far back as the chain
// stays inside trusted proxies, so a client cannot forge its address by sending its own
// X-Forwarded-For header.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plumb/core/ip_address.hpp"

namespace plumb::http {

// The client address for a request: `peer` when it is not trusted; otherwise the right-most
// X-Forwarded-For entry that is not itself a trusted proxy. Malformed entries stop the walk (the
// last address known good is used). Returns the canonical text form.
std::string client_address(std::string_view peer, std::optional<std::string_view> forwarded_for,
                           const std::vector<core::cidr>& trusted_proxies);

}  // namespace plumb::http
