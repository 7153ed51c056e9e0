#pragma once
// The collector's request handling: hits in, validated and hashed events out to the publisher.

#include <functional>
#include <memory>
#include <vector>

#include "client_ip.hpp"
#include "hit_request.hpp"
#include "plumb/core/clock.hpp"
#include "plumb/events/stream_entry.hpp"
#include "plumb/http/message.hpp"
#include "plumb/http/router.hpp"
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
                 std::vector<cidr> trusted_proxies, event_sink sink, metrics::registry& registry);

  // POST /api/event: 202, or 400 with the field errors.
  http::response handle_post(const http::request& req) const;
  // GET /api/event?n=…&u=…: the no-JS pixel, a 1×1 GIF (or 400 with the field errors).
  http::response handle_pixel(const http::request& req) const;

 private:
  enum class outcome { accepted, overloaded };
  // Routes one valid hit to its sites and hands the events to the sink. Unknown domains, opted-out
  // visitors and hits without a salt are dropped and counted: the client cannot tell.
  outcome accept(const hit_request& hit, const http::request& req) const;

  const site_cache& sites_;
  const salt_store& salts_;
  const core::clock& clock_;
  std::vector<cidr> trusted_proxies_;
  event_sink sink_;
  metrics::counter& accepted_;
  metrics::counter& invalid_;
  metrics::counter& unknown_site_;
  metrics::counter& do_not_track_;
  metrics::counter& no_salt_;
  metrics::counter& buffer_full_;
};

// The collector's ingestion routes (POST, the GET pixel, CORS preflight).
void add_ingest_routes(http::router& routes, std::shared_ptr<const ingest_handler> handler);

}  // namespace plumb::collector
