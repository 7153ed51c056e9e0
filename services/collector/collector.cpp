#include "collector.hpp"

#include "plumb/json/value.hpp"

namespace plumb::collector {

ingest_handler::ingest_handler(const site_cache& sites, const salt_store& salts,
                               const core::clock& clock, event_sink sink,
                               metrics::registry& registry)
    : sites_(sites),
      salts_(salts),
      clock_(clock),
      sink_(std::move(sink)),
      accepted_(registry.counter("plumb_collector_events_total", "Events by outcome.", R"(outcome="accepted")")),
      invalid_(registry.counter("plumb_collector_events_total", "Events by outcome.", R"(outcome="invalid")")),
      unknown_site_(registry.counter("plumb_collector_events_total", "Events by outcome.",
                                     R"(outcome="dropped_unknown_site")")),
      no_salt_(registry.counter("plumb_collector_events_total", "Events by outcome.",
                                R"(outcome="dropped_no_salt")")),
      buffer_full_(registry.counter("plumb_collector_events_total", "Events by outcome.",
                                    R"(outcome="dropped_buffer_full")")) {}

http::response ingest_handler::handle(const http::request& req) const {
  const auto received = clock_.now();
  auto hit = parse_hit_json(req.body);
  if (!hit) {
    invalid_.inc();
    return http::response::errors(400, hit.error());
  }
  std::string user_agent(req.header_value("user-agent").value_or(""));
  user_agent.resize(std::min(user_agent.size(), max_user_agent_bytes));
  if (!json::valid_utf8(user_agent) || user_agent.find('\0') != std::string::npos) {
    user_agent.clear();  // unusable for enrichment; the worker treats it as "no user agent"
  }

  std::vector<events::fields> entries;
  for (const auto& domain : hit->domains) {
    const auto site = sites_.find(domain);
    if (!site) {
      // Answered 202 all the same: the endpoint must not reveal which domains are registered.
      unknown_site_.inc();
      continue;
    }
    const auto hashes = salts_.hashes(site->id, req.peer_address, user_agent, received);
    if (!hashes) {
      no_salt_.inc();
      continue;
    }
    events::event e;
    e.received_ms = core::unix_ms(received);
    e.id = core::event_id::generate(received);
    e.site_id = site->id;
    e.name = hit->name;
    e.url = hit->url;
    e.referrer = hit->referrer;
    e.screen_width = hit->screen_width;
    e.hash_mode = hit->hash_mode;
    e.interactive = hit->interactive;
    e.props_json = hit->props_json;
    e.revenue = hit->revenue;
    e.visitor_hash = hashes->today;
    e.previous_visitor_hash = hashes->previous;
    e.user_agent = user_agent;
    entries.push_back(events::encode(e));
  }
  if (!entries.empty()) {
    const auto count = entries.size();
    if (!sink_(std::move(entries))) {
      buffer_full_.inc(count);
      return http::response::errors(503, {{"server", "temporarily overloaded, retry later"}})
          .with_header("Retry-After", "1");
    }
    accepted_.inc(count);
  }
  return http::response::text(202, "ok");
}

void add_ingest_routes(http::router& routes, std::shared_ptr<const ingest_handler> handler) {
  routes.add(http::verb::post, "/api/event",
             [handler](const http::request& req) { return handler->handle(req); });
  routes.add(http::verb::options, "/api/event", [](const http::request&) {
    return http::response::text(204, "", "")
        .with_header("Access-Control-Allow-Methods", "POST, GET, OPTIONS")
        .with_header("Access-Control-Allow-Headers", "Content-Type")
        .with_header("Access-Control-Max-Age", "86400");
  });
}

}  // namespace plumb::collector
