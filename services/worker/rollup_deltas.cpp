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
  // `event_counted`: the total, whose pageviews, events and visitors are counted per event, at the
  // event's time.
  auto count = [&](dimension d, std::string value, bool event_counted) {
    storage::rollup_delta delta;
    delta.dimension = d;
    delta.value = std::move(value);
    delta.at_ms = s.start_ms;
    delta.visits = sign;
    delta.bounces = s.bounce ? sign : 0;
    delta.duration_ms = sign * s.duration_ms();
    if (!event_counted) {
      delta.pageviews = sign * s.pageviews;
      delta.events = sign * s.events;
    }
    // Exit pages count exits, not visitors: the exit moves with every event, and a sketch
    // cannot forget the visitor on the page the visit left.
    delta.adds_visitor = sign > 0 && !event_counted && d != dimension::exit_page;
    out.push_back(std::move(delta));
  };
  count(dimension::total, "", true);
  count(dimension::entry_page, s.entry_page, false);
  count(dimension::exit_page, s.exit_page, false);
  const auto values = unpack_attribution(s.attribution);
  for (std::size_t i = 0; i < values.size(); ++i) {
    count(events::attribution_dimensions[i], values[i], false);
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
  out.reserve(6 + (1 + (visit != nullptr ? visit->before.size() : 0)) *
                      (3 + events::attribution_dimensions.size()));
  add_event_dimensions(e, x, out);
  if (visit != nullptr) {
    for (const auto& before : visit->before) {
      add_visit(before, -1, out);
    }
    add_visit(visit->after, +1, out);
  }
  return out;
}

}  // namespace plumb::worker
