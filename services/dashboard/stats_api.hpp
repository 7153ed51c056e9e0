#pragma once
// The stats routes: Plausible-compatible Stats API v1 (DESIGN.md §3), the web dashboard's JSON
// endpoints, CSV exports and the raw export. Queries are answered by libs/stats; this file parses
// requests and renders JSON and CSV. Every route but the OpenAPI document goes through the gate
// (authz.hpp): members of the site, and API keys with scope stats:read.
//
//   GET /api/v1/stats/realtime/visitors?site_id=D         current visitors (a number)
//   GET /api/v1/stats/{aggregate,timeseries,breakdown}?site_id=D&period=…&metrics=…&…
//   GET /api/stats/D/top-stats?period=…&compare=…&filters=…    totals with comparison
//   GET /api/stats/D/main-graph?period=…&interval=…&metric=…   one series (+ comparison)
//   GET /api/stats/D/breakdown?property=…&…                     one breakdown box
//   GET /api/stats/D/export.csv?view=aggregate|timeseries|breakdown&…   any view as CSV
//   GET /api/stats/D/events.csv                                  every stored event of the site
//   GET /api/shared/TOKEN/{top-stats,main-graph,breakdown}        the same views, for visitors of
//                                                                 a shared link of the site
//   GET /api/openapi.json                                        proto/openapi.json

#include "authz.hpp"
#include "plumb/http/router.hpp"

namespace plumb::dashboard {

// Registers every route above (policies in `secure`, the public document on `routes`).
void add_stats_routes(secure_routes& secure, http::router& routes);

}  // namespace plumb::dashboard
