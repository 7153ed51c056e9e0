#include "stored_truth.hpp"

#include "plumb/ingest/history_loader.hpp"
#include "plumb/storage/rollup_settling.hpp"

namespace plumb::test_support {
namespace {

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

void store_generated(pqxx::connection& conn, const datagen::generated& data) {
  ingest::history_loader(conn).store(data.events);
  if (!data.events.empty()) {
    // As workers would by the time of the last event: its last two days stay in `rollups`, the
    // rest moves to `rollups_settled`, so every report reads both tables.
    storage::settle_rollups(conn, core::from_unix_ms(data.events.back().received_ms));
  }
}

}  // namespace plumb::test_support
