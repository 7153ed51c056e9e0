#include "collector.hpp"

#include "plumb/json/value.hpp"
#include "plumb/queue/stream.hpp"

namespace plumb::collector {
namespace {

// The smallest transparent GIF (43 bytes): the no-JS pixel's body.
constexpr unsigned char transparent_gif[] = {
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00,
    0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b};

metrics::counter& outcome_counter(metrics::registry& registry, std::string_view outcome) {
  return registry.counter("plumb_collector_events_total", "Events by outcome.",
                          "outcome=\"" + std::string(outcome) + "\"");
}

bool opted_out(const http::request& req) {
  return req.header_value("dnt").value_or("") == "1" || req.header_value("sec-gpc").value_or("") == "1";
}

http::response overloaded() {
  return http::response::errors(503, {{"server", "temporarily overloaded, retry later"}})
      .with_header("Retry-After", "1");
}

}  // namespace

ingest_handler::ingest_handler(const site_cache& sites, const salt_store& salts,
                               const geo::resolver& geo, const core::clock& clock,
                               std::vector<core::cidr> trusted_proxies, event_sink sink,
                               metrics::registry& registry)
    : sites_(sites),
      salts_(salts),
      geo_(geo),
      clock_(clock),
      trusted_proxies_(std::move(trusted_proxies)),
      sink_(std::move(sink)),
      accepted_(outcome_counter(registry, "accepted")),
      invalid_(outcome_counter(registry, "invalid")),
      unknown_site_(outcome_counter(registry, "dropped_unknown_site")),
      do_not_track_(outcome_counter(registry, "dropped_do_not_track")),
      excluded_address_(outcome_counter(registry, "dropped_excluded_address")),
      hostname_not_allowed_(outcome_counter(registry, "dropped_hostname_not_allowed")),
      no_salt_(outcome_counter(registry, "dropped_no_salt")),
      buffer_full_(outcome_counter(registry, "dropped_queue_full")),
      storage_failed_(outcome_counter(registry, "dropped_storage_failed")) {}

void ingest_handler::accept(hit_request hit, const http::request& req, http::response success,
                            http::responder done) const {
  const auto received = clock_.now();
  std::string user_agent(req.header_value("user-agent").value_or(""));
  user_agent.resize(std::min(user_agent.size(), max_user_agent_bytes));
  if (!json::valid_utf8(user_agent) || user_agent.find('\0') != std::string::npos) {
    user_agent.clear();  // unusable for enrichment; the worker treats it as "no user agent"
  }
  // The address lives only in this stack frame: it is hashed, never stored or logged.
  const std::string ip =
      http::client_address(req.peer_address, req.header_value("x-forwarded-for"), trusted_proxies_);

  // What every site's event shares, built once (moved from the hit, which is not needed after).
  events::event e;
  e.received_ms = core::unix_ms(received);
  e.name = std::move(hit.name);
  e.url = std::move(hit.url);
  e.referrer = std::move(hit.referrer);
  e.screen_width = hit.screen_width;
  e.hash_mode = hit.hash_mode;
  e.interactive = hit.interactive;
  e.props_json = std::move(hit.props_json);
  e.revenue = hit.revenue;
  auto location = geo_.lookup(ip);
  e.country = std::move(location.country);
  e.region = std::move(location.region);
  e.city = std::move(location.city);
  e.user_agent = std::move(user_agent);
  const auto client = core::ip_address::parse(ip);

  std::vector<std::string> records;
  for (const auto& domain : hit.domains) {
    const auto site = sites_.find(domain);
    if (!site) {
      unknown_site_.inc();
      continue;
    }
    if (site->ignore_do_not_track && opted_out(req)) {
      do_not_track_.inc();
      continue;
    }
    if (client && events::address_excluded(*site, *client)) {
      excluded_address_.inc();
      continue;
    }
    if (!events::hostname_allowed(*site, hit.hostname)) {
      hostname_not_allowed_.inc();
      continue;
    }
    const auto hashes = salts_.hashes(site->id, ip, e.user_agent, received);
    if (!hashes) {
      no_salt_.inc();
      continue;
    }
    e.id = core::event_id::generate(received);
    e.site_id = site->id;
    e.visitor_hash = hashes->today;
    e.previous_visitor_hash = hashes->previous;
    records.push_back(queue::serialize(e));
  }
  if (records.empty()) {
    std::move(done)(std::move(success));
    return;
  }
  const auto count = records.size();
  // std::function needs a copyable callable; the responder is move-only, so it travels shared.
  auto shared_done = std::make_shared<http::responder>(std::move(done));
  // Called exactly once, so the success response is moved out rather than copied.
  const bool queued =
      sink_(std::move(records),
            [this, count, shared_done, success = std::move(success)](bool stored) mutable {
              if (stored) {
                accepted_.inc(count);
              } else {
                storage_failed_.inc(count);
              }
              std::move(*shared_done)(stored ? std::move(success) : overloaded());
            });
  if (!queued) {
    buffer_full_.inc(count);
    std::move(*shared_done)(overloaded());
  }
}

void ingest_handler::handle_post(const http::request& req, http::responder done) const {
  auto hit = parse_hit_json(req.body);  // not const: accept() takes it by move
  if (!hit) {
    invalid_.inc();
    std::move(done)(http::response::errors(400, hit.error()));
    return;
  }
  accept(std::move(*hit), req, http::response::text(202, "ok"), std::move(done));
}

void ingest_handler::handle_pixel(const http::request& req, http::responder done) const {
  auto hit = parse_hit_query(http::parse_query(req.query));  // not const: accept() takes it by move
  if (!hit) {
    invalid_.inc();
    std::move(done)(http::response::errors(400, hit.error()));
    return;
  }
  accept(std::move(*hit), req,
         http::response::text(
             200, std::string(reinterpret_cast<const char*>(transparent_gif), sizeof transparent_gif),
             "image/gif")
             .with_header("Cache-Control", "no-store"),
         std::move(done));
}

void add_ingest_routes(http::router& routes, std::shared_ptr<const ingest_handler> handler) {
  routes.add_async(http::verb::post, "/api/event", [handler](const http::request& req, http::responder done) {
    handler->handle_post(req, std::move(done));
  });
  routes.add_async(http::verb::get, "/api/event", [handler](const http::request& req, http::responder done) {
    handler->handle_pixel(req, std::move(done));
  });
  routes.add(http::verb::options, "/api/event", [](const http::request&) {
    return http::response::text(204, "", "")
        .with_header("Access-Control-Allow-Methods", "POST, GET, OPTIONS")
        .with_header("Access-Control-Allow-Headers", "Content-Type")
        .with_header("Access-Control-Max-Age", "86400");
  });
}

}  // namespace plumb::collector
