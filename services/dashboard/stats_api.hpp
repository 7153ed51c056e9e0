#pragma once
// The stats routes: Plausible-compatible Stats API v1 (DESIGN.md §3), the web dashboard's JSON
// endpoints, CSV exports and the raw export. Queries are answered by libs/stats; this file parses
// requests, checks access (authorize_site, the one place) and renders JSON and CSV.
//
//   GET /api/v1/stats/realtime/visitors?site_id=D         current visitors (a number)
//   GET /api/v1/stats/{aggregate,timeseries,breakdown}?site_id=D&period=…&metrics=…&…
//   GET /api/stats/D/top-stats?period=…&compare=…&filters=…    totals with comparison
//   GET /api/stats/D/main-graph?period=…&interval=…&metric=…   one series (+ comparison)
//   GET /api/stats/D/breakdown?property=…&…                     one breakdown box
//   GET /api/stats/D/export.csv?view=aggregate|timeseries|breakdown&…   any view as CSV
//   GET /api/stats/D/events.csv                                  every stored event of the site
//   GET /api/openapi.json                                        proto/openapi.json

#include <memory>

#include "plumb/core/clock.hpp"
#include "plumb/events/keys.hpp"
#include "plumb/http/message.hpp"
#include "plumb/http/router.hpp"
#include "plumb/pg/connection.hpp"
#include "plumb/redis/connection.hpp"
#include "plumb/stats/result_cache.hpp"

namespace plumb::dashboard {

struct stats_dependencies {
  pg::pool& pool;
  const core::clock& clock;
  redis::endpoint redis;
  events::keys keys;
};

class stats_api;

// Registers every route above; `deps` must outlive the router.
void add_stats_routes(http::router& routes, const stats_dependencies& deps);

}  // namespace plumb::dashboard
