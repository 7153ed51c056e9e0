#pragma once
// Serves the tracker script (tracker/script.js, minified and gzipped at build time and compiled
// into the binary) at GET /js/script.js and an optional alias path. Cached by browsers and CDNs
// for a day, revalidated with a strong ETag; sent gzipped to clients that accept it.

#include <span>
#include <string>
#include <string_view>

#include "plumb/core/embedded_file.hpp"
#include "plumb/http/router.hpp"

namespace plumb::collector {

// The embedded tracker: "script.js" (minified) and "script.js.gz" (gzip -9 -n of it). Generated
// by plumb_embed_files() in CMakeLists.txt.
std::span<const core::embedded_file> tracker_files();

// Longest alias accepted for /js/<alias>.js: enough for a readable name, short enough for a path.
inline constexpr std::size_t max_tracker_alias_bytes = 40;

inline constexpr std::string_view tracker_content_type = "text/javascript; charset=utf-8";
// A day fresh, then served stale for up to a week while revalidating in the background: a new
// tracker reaches every site within a day, and a revalidation never delays a page.
inline constexpr std::string_view tracker_cache_control =
    "public, max-age=86400, stale-while-revalidate=604800";

// True when `alias` may name /js/<alias>.js: 1-40 characters of [a-z0-9-]. Config validation
// should use this, so that a bad alias is reported at start.
bool valid_tracker_alias(std::string_view alias);

// Registers GET /js/script.js and, when `alias` is non-empty, GET /js/<alias>.js (a second name
// that ad blockers' lists do not know). HEAD works through the router's GET fallback. An alias
// that fails valid_tracker_alias() is ignored (only /js/script.js is registered): the caller
// validates its configuration, and a request path must never be built from unchecked text.
void add_tracker_routes(http::router& routes, const std::string& alias);

}  // namespace plumb::collector
