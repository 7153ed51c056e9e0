#pragma once
// URL helpers shared by url.cpp and referrer.cpp (private to libs/enrich).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "plumb/core/expected.hpp"

namespace plumb::enrich::detail {

// The parts of "scheme://[user@]host[:port][/path][?query][#fragment]", viewing the input.
struct url_parts {
  std::string_view host;  // raw: may still hold a port, upper case, "www."
  std::string_view path;
  std::string_view query;     // without '?'
  std::string_view fragment;  // without '#'
};

// nullopt when there is no "scheme://" with a valid scheme.
std::optional<url_parts> split_url(std::string_view url);

// Lower-cases the host and drops its port, a trailing dot and a leading "www."; fails on an empty
// host, a host over max_hostname_bytes, or characters no host name or IP literal contains.
expected<std::string, std::string> normalize_host(std::string_view raw_host);

// "www.example.com" -> "example.com"; anything else unchanged.
std::string_view strip_www(std::string_view host);



// Cuts `s` to at most max_bytes without splitting a UTF-8 sequence.
void truncate_utf8(std::string& s, std::size_t max_bytes);

// A query parameter's value cleaned for storage: decoded, control characters dropped, trimmed,
// bounded; nullopt when absent or empty after cleaning (or not UTF-8). Names match
// case-insensitively; the first non-empty occurrence wins.
std::optional<std::string> query_value(std::string_view query, std::string_view name,
                                       std::size_t max_bytes);

// True when the query has the parameter at all (any value).
bool has_query_param(std::string_view query, std::string_view name);

// The first ad click id parameter in the query (see referrer.cpp), or empty.
std::string click_id_kind(std::string_view query);

}  // namespace plumb::enrich::detail
