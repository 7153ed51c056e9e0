#pragma once
// Files served from memory (the collector's tracker script, the dashboard's web app): strong
// ETags, an optional pre-gzipped representation chosen by Accept-Encoding, 304 on a matching
// If-None-Match, and the caller's Cache-Control.

#include <optional>
#include <string>
#include <string_view>

#include "plumb/http/message.hpp"

namespace plumb::http {

// One representation of an asset: the bytes sent and their strong validator. Each content coding
// is its own representation with its own bytes, so each gets its own strong ETag (RFC 9110
// §8.8.3): a cache holding the gzipped copy never validates the plain one.
struct representation {
  std::string body;
  std::string etag;  // quoted hex SHA-256 of `body`
};

struct static_asset {
  std::string content_type;
  std::string cache_control;
  representation plain;
  std::optional<representation> gzip;  // gzip of `plain`, when the build made one
};

// `gzip`, when given, must be the gzip of `plain` (the build produces both).
static_asset make_static_asset(std::string_view plain, std::optional<std::string_view> gzip,
                               std::string content_type, std::string cache_control);

// 200 with the representation the client accepts, or 304 (no body) when If-None-Match matches
// it; either way with ETag, Cache-Control, nosniff and, when there is a gzip copy, Vary.
response serve(const static_asset& asset, const request& req);

// Whether an Accept-Encoding header value allows gzip: a "gzip" or "x-gzip" coding, or "*" when
// gzip is not listed, with a q-value above 0. Case-insensitive; a malformed q-value makes its
// element count as "not acceptable" (identity is always safe to send).
bool accepts_gzip(std::string_view accept_encoding);

// Whether an If-None-Match header value matches `etag` (a quoted entity tag such as "\"ab12\"")
// under the weak comparison RFC 9110 prescribes for If-None-Match: "*" matches anything and a
// W/ prefix is ignored. Malformed elements match nothing.
bool etag_matches(std::string_view if_none_match, std::string_view etag);

}  // namespace plumb::http
