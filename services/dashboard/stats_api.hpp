#pragma once
// Plausible-compatible Stats API v1 (DESIGN.md §3), for API keys with scope stats:read and
// signed-in members of the site.

#include "authz.hpp"
#include "plumb/core/clock.hpp"
#include "plumb/http/message.hpp"
#include "plumb/http/router.hpp"

namespace plumb::dashboard {

inline constexpr std::string_view valid_aggregate_metrics = "visitors, pageviews, events";

class stats_api {
 public:
  explicit stats_api(const core::clock& clock) : clock_(clock) {}

  // GET /api/v1/stats/aggregate?site_id=DOMAIN&period=P[&date=D]&metrics=a,b
  http::response aggregate(request_context& ctx) const;

 private:
  const core::clock& clock_;
};

void add_stats_routes(secure_routes& routes, std::shared_ptr<const stats_api> api);

}  // namespace plumb::dashboard
