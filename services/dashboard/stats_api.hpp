#pragma once
// Plausible-compatible Stats API v1 (DESIGN.md §3), authenticated with Bearer API keys.

#include "plumb/core/clock.hpp"
#include "plumb/http/message.hpp"
#include "plumb/http/router.hpp"
#include "plumb/pg/connection.hpp"

namespace plumb::dashboard {

inline constexpr std::string_view valid_aggregate_metrics = "visitors, pageviews, events";

class stats_api {
 public:
  stats_api(pg::pool& pool, const core::clock& clock) : pool_(pool), clock_(clock) {}

  // GET /api/v1/stats/aggregate?site_id=DOMAIN&period=P[&date=D]&metrics=a,b
  http::response aggregate(const http::request& req) const;

 private:
  pg::pool& pool_;
  const core::clock& clock_;
};

void add_stats_routes(http::router& routes, std::shared_ptr<const stats_api> api);

}  // namespace plumb::dashboard
