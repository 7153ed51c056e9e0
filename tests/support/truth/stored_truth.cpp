#include "stored_truth.hpp"

#include "plumb/storage/event_writer.hpp"

namespace plumb::test_support {
namespace {

using events::dimension;

std::string host_of(std::string_view url) {
  auto host = url.substr(url.find("://") + 3);
  host = host.substr(0, host.find_first_of("/?#"));
  return std::string(host.starts_with("www.") ? host.substr(4) : host);
}
std::string path_of(std::string_view url) {
  auto rest = url.substr(url.find("://") + 3);
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos) {
    return "/";
  }
  rest = rest.substr(slash);
  return std::string(rest.substr(0, rest.find_first_of("?#")));
}
std::map<std::string, std::string> props_of(const std::string& json) {
  std::vector<std::string> strings;
  for (std::size_t i = json.find('"'); i != std::string::npos; i = json.find('"', i)) {
    const auto close = json.find('"', i + 1);
    strings.push_back(json.substr(i + 1, close - i - 1));
    i = close + 1;
  }
  std::map<std::string, std::string> out;
  for (std::size_t k = 0; k + 1 < strings.size(); k += 2) {
    out[strings[k]] = strings[k + 1];
  }
  return out;
}

}  // namespace

std::vector<stored_hit> index_hits(const datagen::generated& data) {
  std::vector<stored_hit> hits;
  std::multimap<std::pair<std::int64_t, std::uint64_t>, std::size_t> by_hash;
  for (std::size_t v = 0; v < data.visits.size(); ++v) {
    for (const auto h : data.visits[v].visitor_hashes) {
      by_hash.emplace(std::make_pair(data.visits[v].site_id, h), v);
    }
  }
  for (const auto& e : data.events) {
    stored_hit h{&e, 0, path_of(e.url), host_of(e.url), props_of(e.props_json)};
    const auto [first, last] = by_hash.equal_range({e.site_id, e.visitor_hash});
    for (auto it = first; it != last; ++it) {
      const auto& v = data.visits[it->second];
      if (v.start_ms <= e.received_ms && e.received_ms <= v.end_ms) {
        h.visit = it->second;
      }
    }
    if (e.revenue) {
      h.has_revenue = true;
      h.revenue = std::stod(e.revenue->amount);
    }
    hits.push_back(std::move(h));
  }
  return hits;
}

void store_generated(pqxx::connection& conn, const datagen::generated& data,
                     const std::vector<stored_hit>& hits) {
  std::map<std::size_t, core::event_id> opening;
  for (const auto& h : hits) {
    opening.emplace(h.visit, h.e->id);  // events are in time order: the first one wins
  }
  std::vector<storage::stored_event> batch;
  storage::event_writer writer;
  const auto flush = [&] {
    writer.write(conn, batch);
    batch.clear();
  };
  batch.reserve(2'000);
  for (const auto& h : hits) {
    const auto& e = *h.e;
    const auto& v = data.visits[h.visit];
    const bool first = opening.at(h.visit) == e.id;
    auto& s = batch.emplace_back();
    s.id = e.id;
    s.site_id = e.site_id;
    s.visitor_hash = e.visitor_hash;
    s.visit_id = opening.at(h.visit);
    s.name = e.name;
    s.interactive = e.interactive;
    s.props_json = e.props_json;
    s.revenue = e.revenue;
    s.values[0] = h.hostname;
    s.values[1] = h.page;
    for (std::size_t i = 0; i < events::attribution_dimensions.size(); ++i) {
      const auto d = events::attribution_dimensions[i];
      // Later events of a visit carry their own (internal, so direct) source; reports must
      // read the visit's from its first event.
      const bool source_part = d <= dimension::utm_content;
      s.values[2 + i] = first || !source_part     ? v.attribution.at(d)
                        : d == dimension::source  ? "Direct / None"
                        : d == dimension::channel ? "(none)"
                                                  : "";
    }
    s.owned_values.reserve(8 + h.props.size());
    const bool pageview = e.name == events::pageview_name;
    const auto event_delta = [&](dimension d, std::string_view value) {
      storage::rollup_delta r;
      r.dimension = d;
      r.value = value;
      r.at_ms = e.received_ms;
      r.pageviews = pageview ? 1 : 0;
      r.events = pageview ? 0 : 1;
      r.adds_visitor = true;
      s.deltas.push_back(r);
    };
    event_delta(dimension::total, "");
    event_delta(dimension::page, s.values[1]);
    event_delta(dimension::hostname, s.values[0]);
    if (!pageview) {
      event_delta(dimension::event, s.name);
    }
    for (const auto& [key, value] : h.props) {
      event_delta(dimension::prop,
                  s.owned_values.emplace_back(key + events::value_separator + value));
    }
    if (!pageview && s.revenue) {
      event_delta(dimension::revenue, s.owned_values.emplace_back(s.name + events::value_separator +
                                                                  s.revenue->currency));
      s.deltas.back().revenue = s.revenue->amount;
    }
    if (first) {
      const auto visit_delta = [&](dimension d, std::string_view value, bool with_hits) {
        storage::rollup_delta r;
        r.dimension = d;
        r.value = value;
        r.at_ms = v.start_ms;
        r.visits = 1;
        r.bounces = v.bounce ? 1 : 0;
        r.duration_ms = v.end_ms - v.start_ms;
        if (with_hits) {
          r.pageviews = v.pageviews;
          r.events = v.events;
          if (d != dimension::exit_page) {  // exit rows keep no sketch (docs/ROLLUPS.md)
            r.visit_visitors = v.visitor_hashes;
          }
        }
        s.deltas.push_back(r);
      };
      visit_delta(dimension::total, "", false);
      visit_delta(dimension::entry_page, s.owned_values.emplace_back(v.entry_page), true);
      visit_delta(dimension::exit_page, s.owned_values.emplace_back(v.exit_page), true);
      for (const auto& [d, value] : v.attribution) {
        visit_delta(d, value, true);
      }
    }
    if (batch.size() == 2'000) {
      flush();
    }
  }
  flush();
}

}  // namespace plumb::test_support
