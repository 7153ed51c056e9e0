#pragma once
// The dashboard's routes: static pages and the stats API.

#include <memory>

#include "plumb/http/router.hpp"
#include "stats_api.hpp"

namespace plumb::dashboard {

// The web app (web/, bundled at build time): its page at GET / (revalidated every time) and its
// bundles at /assets/app.<content hash>.{js,css} (cached for a year), gzipped when accepted.
void add_web_routes(http::router& routes);

// Headers on every dashboard response (CSP without inline scripts, nosniff, framing, referrer).
std::vector<http::header> security_headers();

}  // namespace plumb::dashboard
