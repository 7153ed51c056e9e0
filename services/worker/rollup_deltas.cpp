#include "rollup_deltas.hpp"

#include "plumb/json/value.hpp"

namespace plumb::worker {
namespace {

using events::dimension;

struct event_counts {
  std::int64_t pageviews;
  std::int64_t events;
};

void add_event_dimensions(const events::event& e, const enriched_event& x,
                          std::vector<storage::rollup_delta>& out) {
  const bool pageview = e.name == events::pageview_name;
  const event_counts counts{pageview ? 1 : 0, pageview ? 0 : 1};
  auto count = [&](dimension d, std::string value) {
    storage::rollup_delta delta;
    delta.dimension = d;
    delta.value = std::move(value);
    delta.at_ms = e.received_ms;
    delta.pageviews = counts.pageviews;
    delta.events = counts.events;
    delta.adds_visitor = true;
    out.push_back(std::move(delta));
  };
  count(dimension::total, "");
  count(dimension::page, x.value(dimension::page));
  count(dimension::hostname, x.value(dimension::hostname));
  if (!pageview) {
    count(dimension::event, e.name);
  }
  if (!e.props_json.empty()) {
    // The collector wrote this object with string values; anything else is skipped, not fatal.
    if (const auto props = json::parse(e.props_json); props && props->as_object()) {
      for (const auto& [key, value] : *props->as_object()) {
        if (const auto* text = value.as_string()) {
          count(dimension::prop, key + events::value_separator + *text);
        }
      }
    }
  }
  if (e.revenue) {
    count(dimension::revenue, e.name + events::value_separator + e.revenue->currency);
    out.back().revenue = e.revenue->amount;
  }
}

// Adds (sign +1) or removes (-1) a whole visit from its visit dimension rows. Only the visit as
// it is now adds the visitor: sketches cannot subtract, and the visitor did visit.
void add_visit(const visits::snapshot& s, int sign, std::vector<storage::rollup_delta>& out) {
  auto count = [&](dimension d, std::string value, bool with_pages) {
    storage::rollup_delta delta;
    delta.dimension = d;
    delta.value = std::move(value);
    delta.at_ms = s.start_ms;
    delta.visits = sign;
    delta.bounces = s.bounce ? sign : 0;
    delta.duration_ms = sign * s.duration_ms();
    if (with_pages) {
      delta.pageviews = sign * s.pageviews;
      delta.events = sign * s.events;
    }
    delta.adds_visitor = sign > 0;
    out.push_back(std::move(delta));
  };
  // The total's pageviews and events are counted per event, at the event's time.
  count(dimension::total, "", false);
  count(dimension::entry_page, s.entry_page, true);
  count(dimension::exit_page, s.exit_page, true);
  const auto values = unpack_attribution(s.attribution);
  for (std::size_t i = 0; i < values.size(); ++i) {
    count(events::attribution_dimensions[i], values[i], true);
  }
}

}  // namespace

std::vector<storage::rollup_delta> rollup_deltas(const events::event& e, const enriched_event& x,
                                                 const visits::transition* visit) {
  std::vector<storage::rollup_delta> out;
  if (!x.kept()) {
    storage::rollup_delta dropped;
    dropped.dimension = dimension::dropped;
    dropped.value = x.drop_reason;
    dropped.at_ms = e.received_ms;
    dropped.events = 1;
    out.push_back(std::move(dropped));
    return out;
  }
  out.reserve(6 + 2 * (3 + events::attribution_dimensions.size()));
  add_event_dimensions(e, x, out);
  if (visit != nullptr) {
    if (visit->before) {
      add_visit(*visit->before, -1, out);
    }
    add_visit(visit->after, +1, out);
  }
  return out;
}

}  // namespace plumb::worker
