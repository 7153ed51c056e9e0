// endpoint::parse_url. Errors name the part that is wrong and never echo the password; the caller
// prefixes the setting's name (e.g. "PLUMB_REDIS_URL: ").

#include <charconv>
#include <limits>
#include <string>

#include "plumb/core/text.hpp"
#include "plumb/redis/connection.hpp"

namespace plumb::redis {
namespace {

constexpr std::string_view scheme = "redis://";
constexpr std::string_view tls_scheme = "rediss://";
constexpr std::string_view expected_form = "expected redis://[:password@]host[:port][/db]";
// The one user name that AUTH <password> authenticates as; endpoint has no field for others.
constexpr std::string_view default_user = "default";

// Parses a non-empty run of ASCII digits into [0, max]; nullopt on anything else (signs, spaces,
// overflow).
template <class Int>
std::optional<Int> parse_digits(std::string_view text, Int max) {
  if (text.empty()) {
    return std::nullopt;
  }
  for (const char c : text) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
  }
  Int result{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), result);
  if (ec != std::errc() || end != text.data() + text.size() || result > max) {
    return std::nullopt;
  }
  return result;
}

}  // namespace

expected<endpoint, std::string> endpoint::parse_url(std::string_view url) {
  using failure = unexpected<std::string>;
  if (core::istarts_with(url, tls_scheme)) {
    return failure("scheme rediss:// (TLS) is not supported; " + std::string(expected_form));
  }
  if (!core::istarts_with(url, scheme)) {
    return failure("bad scheme: " + std::string(expected_form));
  }
  std::string_view rest = url.substr(scheme.size());
  endpoint result;

  // User info ends at the last '@': host, port and db never contain one, a password might.
  if (const std::size_t at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view user_info = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const std::size_t colon = user_info.find(':');
    if (colon == std::string_view::npos) {
      return failure("bad credentials: the password must follow ':' (redis://:password@host)");
    }
    const std::string_view user = user_info.substr(0, colon);
    if (!user.empty() && user != default_user) {
      return failure("user name '" + std::string(user) +
                     "' is not supported: only the default user (redis://:password@host)");
    }
    auto password = core::percent_decode_strict(user_info.substr(colon + 1));
    if (!password) {
      return failure("bad password: malformed %-escape");
    }
    if (password->empty()) {
      return failure("bad password: empty after ':'");
    }
    result.password = std::move(*password);
  }

  std::string_view host_port = rest;
  std::optional<std::string_view> path;
  if (const std::size_t slash = rest.find('/'); slash != std::string_view::npos) {
    host_port = rest.substr(0, slash);
    path = rest.substr(slash + 1);
  }

  std::string_view host;
  std::optional<std::string_view> port;
  if (!host_port.empty() && host_port.front() == '[') {
    // IPv6 literal: [::1] or [::1]:6379.
    const std::size_t close = host_port.find(']');
    if (close == std::string_view::npos) {
      return failure("bad host: '[' without ']' around an IPv6 address");
    }
    host = host_port.substr(1, close - 1);
    const std::string_view after = host_port.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return failure("bad host: unexpected text after ']'");
      }
      port = after.substr(1);
    }
  } else {
    const std::size_t colon = host_port.find(':');
    host = host_port.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = host_port.substr(colon + 1);
      if (port->find(':') != std::string_view::npos) {
        return failure("bad host: write an IPv6 address in brackets, e.g. redis://[::1]:6379");
      }
    }
  }
  if (host.empty()) {
    return failure("missing host: " + std::string(expected_form));
  }
  result.host = std::string(host);

  if (port) {
    const auto number =
        parse_digits<std::uint16_t>(*port, std::numeric_limits<std::uint16_t>::max());
    if (!number || *number == 0) {
      return failure("bad port '" + std::string(*port) + "': expected a number in 1-65535");
    }
    result.port = *number;
  }

  // "redis://host" and "redis://host/" both mean database 0.
  if (path && !path->empty()) {
    const auto number = parse_digits<int>(*path, std::numeric_limits<int>::max());
    if (!number) {
      return failure("bad database '" + std::string(*path) + "': expected a number, e.g. /0");
    }
    result.database = *number;
  }
  return result;
}

}  // namespace plumb::redis
