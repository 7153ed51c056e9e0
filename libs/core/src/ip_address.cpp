#include "plumb/core/ip_address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

#include "plumb/core/text.hpp"

namespace plumb::core {
namespace {

constexpr std::array<std::uint8_t, 12> v4_mapped_prefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool is_v4_mapped(const ip_address& a) {
  return std::equal(v4_mapped_prefix.begin(), v4_mapped_prefix.end(), a.bytes.begin());
}

// Blanks around list items (as in HTTP headers, RFC 9110 5.6.3).
constexpr std::string_view blanks = " \t";

}  // namespace

std::optional<ip_address> ip_address::parse(std::string_view text) {
  // Longest textual IPv6 address is 45 characters; anything longer is not an address.
  constexpr std::size_t max_text = 45;
  if (text.empty() || text.size() > max_text) {
    return std::nullopt;
  }
  if (text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  const std::string terminated(text);
  ip_address out;
  std::array<std::uint8_t, 4> v4{};
  if (inet_pton(AF_INET, terminated.c_str(), v4.data()) == 1) {
    std::copy(v4_mapped_prefix.begin(), v4_mapped_prefix.end(), out.bytes.begin());
    std::copy(v4.begin(), v4.end(), out.bytes.begin() + 12);
    return out;
  }
  if (inet_pton(AF_INET6, terminated.c_str(), out.bytes.data()) == 1) {
    return out;
  }
  return std::nullopt;
}

std::string ip_address::to_string() const {
  if (is_v4_mapped(*this)) {
    // The dotted quad by hand: glibc's inet_ntop formats IPv4 through sprintf, and the collector
    // formats every hit's address.
    std::string text;  // at most 15 characters: no allocation
    for (std::size_t i = 12; i < bytes.size(); ++i) {
      if (i > 12) {
        text += '.';
      }
      char digits[3];
      text.append(digits, std::to_chars(digits, digits + sizeof digits, bytes[i]).ptr);
    }
    return text;
  }
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, bytes.data(), text, sizeof text);
  return text;
}

expected<cidr, std::string> cidr::parse(std::string_view text) {
  text = trim(text, blanks);
  const auto slash = text.find('/');
  const auto address = ip_address::parse(text.substr(0, slash));
  if (!address) {
    return unexpected<std::string>("'" + std::string(text) + "' is not an IP address or CIDR range");
  }
  const bool v4 = is_v4_mapped(*address);
  unsigned bits = 128;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    unsigned parsed = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), parsed);
    if (ec != std::errc{} || end != digits.data() + digits.size() || digits.empty() ||
        parsed > (v4 ? 32U : 128U)) {
      return unexpected<std::string>("'" + std::string(text) + "' has an invalid prefix length");
    }
    bits = v4 ? parsed + 96 : parsed;
  }
  return cidr{*address, bits};
}

bool cidr::contains(const ip_address& address) const {
  unsigned remaining = prefix_bits;
  for (std::size_t i = 0; i < 16 && remaining > 0; ++i) {
    const unsigned take = std::min(remaining, 8U);
    const auto mask = static_cast<std::uint8_t>(0xFF << (8 - take));
    if ((network.bytes[i] & mask) != (address.bytes[i] & mask)) {
      return false;
    }
    remaining -= take;
  }
  return true;
}

std::string cidr::to_string() const {
  if (prefix_bits == 128) {
    return network.to_string();
  }
  return network.to_string() + "/" + std::to_string(is_v4_mapped(network) ? prefix_bits - 96 : prefix_bits);
}

expected<std::vector<cidr>, std::string> parse_cidr_list(std::string_view text) {
  std::vector<cidr> out;
  while (!trim(text, blanks).empty()) {
    const auto comma = text.find(',');
    auto range = cidr::parse(text.substr(0, comma));
    if (!range) {
      return unexpected(range.error());
    }
    out.push_back(*range);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  return out;
}

}  // namespace plumb::core
