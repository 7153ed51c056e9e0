#pragma once
// The dashboard's routes: static pages and the stats API.

#include <memory>

#include "plumb/http/router.hpp"
#include "stats_api.hpp"

namespace plumb::dashboard {

// GET / and the other embedded web files, with security headers.
void add_web_routes(http::router& routes);

// Headers on every dashboard response (CSP without inline scripts, nosniff, framing, referrer).
std::vector<http::header> security_headers();

}  // namespace plumb::dashboard
