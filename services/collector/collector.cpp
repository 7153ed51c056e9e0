#include "collector.hpp"

#include "plumb/json/value.hpp"

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
                               const core::clock& clock, std::vector<cidr> trusted_proxies,
                               event_sink sink, metrics::registry& registry)
    : sites_(sites),
      salts_(salts),
      clock_(clock),
      trusted_proxies_(std::move(trusted_proxies)),
      sink_(std::move(sink)),
      accepted_(outcome_counter(registry, "accepted")),
      invalid_(outcome_counter(registry, "invalid")),
      unknown_site_(outcome_counter(registry, "dropped_unknown_site")),
      do_not_track_(outcome_counter(registry, "dropped_do_not_track")),
      no_salt_(outcome_counter(registry, "dropped_no_salt")),
      buffer_full_(outcome_counter(registry, "dropped_buffer_full")) {}

ingest_handler::outcome ingest_handler::accept(const hit_request& hit, const http::request& req) const {
  const auto received = clock_.now();
  std::string user_agent(req.header_value("user-agent").value_or(""));
  user_agent.resize(std::min(user_agent.size(), max_user_agent_bytes));
  if (!json::valid_utf8(user_agent) || user_agent.find('\0') != std::string::npos) {
    user_agent.clear();  // unusable for enrichment; the worker treats it as "no user agent"
  }
  // The address lives only in this stack frame: it is hashed, never stored or logged.
  const std::string ip =
      client_address(req.peer_address, req.header_value("x-forwarded-for"), trusted_proxies_);

  std::vector<events::fields> entries;
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
    const auto hashes = salts_.hashes(site->id, ip, user_agent, received);
    if (!hashes) {
      no_salt_.inc();
      continue;
    }
    events::event e;
    e.received_ms = core::unix_ms(received);
    e.id = core::event_id::generate(received);
    e.site_id = site->id;
    e.name = hit.name;
    e.url = hit.url;
    e.referrer = hit.referrer;
    e.screen_width = hit.screen_width;
    e.hash_mode = hit.hash_mode;
    e.interactive = hit.interactive;
    e.props_json = hit.props_json;
    e.revenue = hit.revenue;
    e.visitor_hash = hashes->today;
    e.previous_visitor_hash = hashes->previous;
    e.user_agent = user_agent;
    entries.push_back(events::encode(e));
  }
  if (entries.empty()) {
    return outcome::accepted;
  }
  const auto count = entries.size();
  if (!sink_(std::move(entries))) {
    buffer_full_.inc(count);
    return outcome::overloaded;
  }
  accepted_.inc(count);
  return outcome::accepted;
}

http::response ingest_handler::handle_post(const http::request& req) const {
  const auto hit = parse_hit_json(req.body);
  if (!hit) {
    invalid_.inc();
    return http::response::errors(400, hit.error());
  }
  return accept(*hit, req) == outcome::accepted ? http::response::text(202, "ok") : overloaded();
}

http::response ingest_handler::handle_pixel(const http::request& req) const {
  const auto hit = parse_hit_query(http::parse_query(req.query));
  if (!hit) {
    invalid_.inc();
    return http::response::errors(400, hit.error());
  }
  if (accept(*hit, req) != outcome::accepted) {
    return overloaded();
  }
  return http::response::text(
             200, std::string(reinterpret_cast<const char*>(transparent_gif), sizeof transparent_gif),
             "image/gif")
      .with_header("Cache-Control", "no-store");
}

void add_ingest_routes(http::router& routes, std::shared_ptr<const ingest_handler> handler) {
  routes.add(http::verb::post, "/api/event",
             [handler](const http::request& req) { return handler->handle_post(req); });
  routes.add(http::verb::get, "/api/event",
             [handler](const http::request& req) { return handler->handle_pixel(req); });
  routes.add(http::verb::options, "/api/event", [](const http::request&) {
    return http::response::text(204, "", "")
        .with_header("Access-Control-Allow-Methods", "POST, GET, OPTIONS")
        .with_header("Access-Control-Allow-Headers", "Content-Type")
        .with_header("Access-Control-Max-Age", "86400");
  });
}

}  // namespace plumb::collector
