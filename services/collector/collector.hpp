#pragma once
// The collector's request handling: hits in, validated and hashed events out to the publisher.

#include <functional>
#include <memory>
#include <vector>

#include "plumb/http/client_address.hpp"
#include "hit_request.hpp"
#include "plumb/core/clock.hpp"
#include "plumb/events/stream_entry.hpp"
#include "plumb/geo/database.hpp"
#include "plumb/http/message.hpp"
#include "plumb/http/router.hpp"
#include "plumb/metrics/registry.hpp"
#include "salts.hpp"
#include "site_cache.hpp"

namespace plumb::collector {

// Where accepted events go (serialised stream entries), and how the handler learns they were
// stored: the stream writer in production (Redis from the I/O thread, the publisher thread for
// everything else), a vector in unit tests. Returns false, without calling
// `stored`, when it cannot take them now.
using event_sink =
    std::function<bool(std::vector<std::string> records, std::function<void(bool stored)> stored)>;

// Maximum user agent kept for enrichment; longer ones are truncated (real UAs are < 500 bytes).
inline constexpr std::size_t max_user_agent_bytes = 1'000;

class ingest_handler {
 public:
  ingest_handler(const site_cache& sites, const salt_store& salts, const geo::resolver& geo,
                 const core::clock& clock, std::vector<core::cidr> trusted_proxies, event_sink sink,
                 metrics::registry& registry);

  // POST /api/event: 202 once the events are stored (Redis or spool), or 400 with field errors.
  void handle_post(const http::request& req, http::responder done) const;
  // GET /api/event?n=…&u=…: the no-JS pixel, a 1×1 GIF (or 400 with the field errors).
  void handle_pixel(const http::request& req, http::responder done) const;

 private:
  // Routes one valid hit to its sites and hands the events to the sink; answers `success` once
  // they are stored, 503 when they cannot be. Unknown domains, opted-out visitors and hits
  // without a salt are dropped and counted, and answered `success`: the client cannot tell.
  void accept(hit_request hit, const http::request& req, http::response success,
              http::responder done) const;

  const site_cache& sites_;
  const salt_store& salts_;
  const geo::resolver& geo_;
  const core::clock& clock_;
  std::vector<core::cidr> trusted_proxies_;
  event_sink sink_;
  metrics::counter& accepted_;
  metrics::counter& invalid_;
  metrics::counter& unknown_site_;
  metrics::counter& do_not_track_;
  metrics::counter& excluded_address_;
  metrics::counter& hostname_not_allowed_;
  metrics::counter& no_salt_;
  metrics::counter& buffer_full_;
  metrics::counter& storage_failed_;
};

// The collector's ingestion routes (POST, the GET pixel, CORS preflight).
void add_ingest_routes(http::router& routes, std::shared_ptr<const ingest_handler> handler);

}  // namespace plumb::collector
