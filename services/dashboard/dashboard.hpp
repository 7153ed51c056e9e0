#pragma once
// The dashboard's routes: static pages, accounts, sites, the stats API, health and metrics.

#include <vector>

#include "authz.hpp"
#include "plumb/metrics/registry.hpp"
#include "plumb/runtime/service.hpp"

namespace plumb::dashboard {

// The web app (web/, bundled at build time): its page at GET / (revalidated every time) and its
// bundles at /assets/app.<content hash>.{js,css} (cached for a year), gzipped when accepted.
void add_web_routes(http::router& routes);

// Every route the dashboard serves, each with its policy in `secure` (main.cpp and the
// authorization matrix test build the same table).
void add_dashboard_routes(secure_routes& secure, http::router& routes, metrics::registry& registry,
                          std::vector<runtime::health_check> checks);

// Headers on every dashboard response: a CSP without inline scripts or styles, HSTS, nosniff,
// no framing, no referrer beyond the origin. No CORS headers: other origins get no access.
std::vector<http::header> security_headers();

}  // namespace plumb::dashboard
