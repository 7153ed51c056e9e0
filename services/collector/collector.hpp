#pragma once
// The collector's request handling: hits in, validated and hashed events out to the publisher.

#include <functional>
#include <memory>

#include "collector_config.hpp"
#include "hit_request.hpp"
#include "plumb/core/clock.hpp"
#include "plumb/events/stream_entry.hpp"
#include "plumb/http/message.hpp"
#include "plumb/http/router.hpp"
#include "plumb/log/logger.hpp"
#include "plumb/metrics/registry.hpp"
#include "salts.hpp"
#include "site_cache.hpp"

namespace plumb::collector {

// Where accepted events go; the publisher in production, a vector in unit tests.
using event_sink = std::function<bool(std::vector<events::fields>)>;

// Maximum user agent kept for enrichment; longer ones are truncated (real UAs are < 500 bytes).
inline constexpr std::size_t max_user_agent_bytes = 1'000;

class ingest_handler {
 public:
  ingest_handler(const site_cache& sites, const salt_store& salts, const core::clock& clock,
                 event_sink sink, metrics::registry& registry);

  // POST /api/event
  http::response handle(const http::request& req) const;

 private:
  const site_cache& sites_;
  const salt_store& salts_;
  const core::clock& clock_;
  event_sink sink_;
  metrics::counter& accepted_;
  metrics::counter& invalid_;
  metrics::counter& unknown_site_;
  metrics::counter& no_salt_;
  metrics::counter& buffer_full_;
};

// The collector's routes (ingestion, CORS preflight) on top of the standard ones.
void add_ingest_routes(http::router& routes, std::shared_ptr<const ingest_handler> handler);

}  // namespace plumb::collector
