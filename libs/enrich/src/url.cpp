#include <algorithm>
#include <cctype>

#include "plumb/enrich/referrer.hpp"
#include "plumb/json/value.hpp"
#include "url_detail.hpp"

#include "plumb/core/text.hpp"

namespace plumb::enrich {
namespace detail {

namespace {

constexpr std::string_view www_prefix = "www.";

bool is_scheme_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '-' || c == '.';
}

bool is_control(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

// Letters, digits, '-', '.', '_' (seen in real intranet names) and non-ASCII bytes (browsers
// normally send punycode, but a raw IDN is still a host, and the input is valid UTF-8).
bool is_host_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) != 0 || c == '-' || c == '.' || c == '_' || u >= 0x80;
}

}  // namespace

std::optional<url_parts> split_url(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0 ||
      std::isalpha(static_cast<unsigned char>(url.front())) == 0 ||
      !std::all_of(url.begin(), url.begin() + static_cast<std::ptrdiff_t>(scheme_end),
                   is_scheme_char)) {
    return std::nullopt;
  }
  std::string_view rest = url.substr(scheme_end + 3);
  url_parts parts;
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) {
    parts.fragment = rest.substr(hash + 1);
    rest = rest.substr(0, hash);
  }
  if (const auto question = rest.find('?'); question != std::string_view::npos) {
    parts.query = rest.substr(question + 1);
    rest = rest.substr(0, question);
  }
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  parts.path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);  // user:password@ is never kept
  }
  parts.host = authority;
  return parts;
}

expected<std::string, std::string> normalize_host(std::string_view raw_host) {
  std::string_view host = raw_host;
  if (!host.empty() && host.front() == '[') {
    // IPv6 literal, kept with its brackets.
    const auto close = host.find(']');
    if (close == std::string_view::npos) {
      return unexpected(std::string("malformed IPv6 host"));
    }
    const std::string_view after = host.substr(close + 1);
    if (!after.empty() && after.front() != ':') {
      return unexpected(std::string("malformed IPv6 host"));
    }
    const std::string_view inside = host.substr(1, close - 1);
    const bool valid = !inside.empty() && std::all_of(inside.begin(), inside.end(), [](char c) {
      return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == ':' || c == '.';
    });
    if (!valid) {
      return unexpected(std::string("malformed IPv6 host"));
    }
    return core::ascii_lower(host.substr(0, close + 1));
  }
  if (const auto colon = host.find(':'); colon != std::string_view::npos) {
    const std::string_view port = host.substr(colon + 1);
    if (!std::all_of(port.begin(), port.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; })) {
      return unexpected(std::string("malformed port"));
    }
    host = host.substr(0, colon);
  }
  if (!host.empty() && host.back() == '.') {
    host.remove_suffix(1);
  }
  if (host.empty()) {
    return unexpected(std::string("empty host"));
  }
  if (host.size() > max_hostname_bytes) {
    return unexpected(std::string("host too long"));
  }
  if (!std::all_of(host.begin(), host.end(), is_host_char) || host.front() == '.' ||
      host.find("..") != std::string_view::npos) {
    return unexpected(std::string("invalid character in host"));
  }
  std::string lower = core::ascii_lower(host);
  const std::string_view stripped = strip_www(lower);
  if (stripped.size() != lower.size()) {
    return std::string(stripped);
  }
  return lower;
}

std::string_view strip_www(std::string_view host) {
  // "www." alone, or "www.com", are hosts of their own, not a www variant.
  if (host.starts_with(www_prefix) && host.find('.', www_prefix.size()) != std::string_view::npos) {
    return host.substr(www_prefix.size());
  }
  return host;
}

void truncate_utf8(std::string& s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) {
    return;
  }
  std::size_t end = max_bytes;
  // Back off continuation bytes (10xxxxxx) so the cut lands before a whole sequence.
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) {
    --end;
  }
  s.resize(end);
}

namespace {

// Calls f(name, raw_value) for each '&'-separated parameter until f returns true.
template <class F>
void for_each_param(std::string_view query, F&& f) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = pair.find('=');
    const std::string_view name = pair.substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    if (f(name, value)) {
      return;
    }
  }
}

}  // namespace

std::optional<std::string> query_value(std::string_view query, std::string_view name,
                                       std::size_t max_bytes) {
  std::optional<std::string> result;
  for_each_param(query, [&](std::string_view key, std::string_view raw) {
    if (!core::iequals(core::percent_decode(key, true), name)) {
      return false;
    }
    std::string decoded = core::percent_decode(raw, true);
    std::erase_if(decoded, is_control);
    std::string value(core::trim(decoded));
    if (value.empty() || !json::valid_utf8(value)) {
      return false;
    }
    truncate_utf8(value, max_bytes);
    result = std::move(value);
    return true;
  });
  return result;
}

bool has_query_param(std::string_view query, std::string_view name) {
  bool found = false;
  for_each_param(query, [&](std::string_view key, std::string_view) {
    found = core::iequals(core::percent_decode(key, true), name);
    return found;
  });
  return found;
}

}  // namespace detail

expected<page_url, std::string> parse_page_url(std::string_view url, bool hash_mode) {
  if (std::any_of(url.begin(), url.end(), detail::is_control)) {
    return unexpected(std::string("control character in URL"));
  }
  if (!json::valid_utf8(url)) {
    return unexpected(std::string("URL is not UTF-8"));
  }
  const auto parts = detail::split_url(url);
  if (!parts) {
    return unexpected(std::string("not an absolute URL"));
  }
  auto host = detail::normalize_host(parts->host);
  if (!host) {
    return unexpected(std::move(host).error());
  }
  page_url out;
  out.hostname = std::move(*host);
  out.path = parts->path.empty() ? std::string("/") : std::string(parts->path);
  if (hash_mode) {
    // Hash routers put their own "?query" inside the fragment; it is a query all the same.
    const std::string_view fragment = parts->fragment.substr(0, parts->fragment.find('?'));
    if (!fragment.empty()) {
      out.path += '#';
      out.path += fragment;
    }
  }
  detail::truncate_utf8(out.path, max_page_path_bytes);
  return out;
}

campaign parse_campaign(std::string_view page_url) {
  campaign out;
  const auto parts = detail::split_url(page_url);
  if (!parts) {
    return out;
  }
  const std::string_view query = parts->query;
  auto value = [&](std::string_view name) {
    return detail::query_value(query, name, max_campaign_value_bytes).value_or(std::string{});
  };
  out.source = value("utm_source");
  if (out.source.empty()) {
    out.source = value("ref");
  }
  if (out.source.empty()) {
    out.source = value("source");
  }
  out.medium = value("utm_medium");
  out.campaign = value("utm_campaign");
  out.term = value("utm_term");
  out.content = value("utm_content");
  out.click_id_kind = detail::click_id_kind(query);
  return out;
}

}  // namespace plumb::enrich
