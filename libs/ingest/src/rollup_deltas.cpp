#include "plumb/ingest/rollup_deltas.hpp"

#include <array>

#include "plumb/ingest/enricher.hpp"
#include "plumb/json/value.hpp"

namespace plumb::ingest {
namespace {

using events::dimension;

constexpr std::size_t stored_index(dimension d) {
  for (std::size_t i = 0; i < storage::stored_dimensions.size(); ++i) {
    if (storage::stored_dimensions[i] == d) {
      return i;
    }
  }
  return storage::stored_dimensions.size();
}
constexpr std::size_t hostname_index = stored_index(dimension::hostname);
constexpr std::size_t page_index = stored_index(dimension::page);
static_assert(hostname_index < storage::stored_dimensions.size() &&
              page_index < storage::stored_dimensions.size());

// The event dimensions: 3 to 5 deltas, plus one per string property.
void add_event_dimensions(storage::stored_event& s, std::int64_t received_ms) {
  const bool pageview = s.name == events::pageview_name;
  auto& out = s.deltas;
  auto count = [&](dimension d, std::string_view value) {
    auto& delta = out.emplace_back();
    delta.dimension = d;
    delta.value = value;
    delta.at_ms = received_ms;
    delta.pageviews = pageview ? 1 : 0;
    delta.events = pageview ? 0 : 1;
    delta.adds_visitor = true;
  };
  count(dimension::total, {});
  count(dimension::page, s.values[page_index]);
  count(dimension::hostname, s.values[hostname_index]);
  if (!pageview) {
    count(dimension::event, s.name);
  }
  json::value props;  // null unless the event has a props object
  std::size_t composites = s.revenue ? 1U : 0U;
  if (!s.props_json.empty()) {
    // The collector wrote this object with string values; anything else is skipped, not fatal.
    if (auto parsed = json::parse(s.props_json); parsed && parsed->as_object()) {
      props = std::move(*parsed);
      for (const auto& [key, value] : *props.as_object()) {
        composites += value.as_string() != nullptr ? 1U : 0U;
      }
    }
  }
  // Reserved up front: the deltas point into these strings, which must not move afterwards.
  s.owned_values.reserve(s.owned_values.size() + composites);
  if (const auto* object = props.as_object()) {
    for (const auto& [key, value] : *object) {
      if (const auto* text = value.as_string()) {
        auto& composite = s.owned_values.emplace_back();
        composite.reserve(key.size() + 1 + text->size());
        composite.append(key).push_back(events::value_separator);
        composite.append(*text);
        count(dimension::prop, composite);
      }
    }
  }
  if (s.revenue) {
    auto& composite = s.owned_values.emplace_back();
    composite.reserve(s.name.size() + 1 + s.revenue->currency.size());
    composite.append(s.name).push_back(events::value_separator);
    composite.append(s.revenue->currency);
    count(dimension::revenue, composite);
    out.back().revenue = s.revenue->amount;
  }
}

using attribution_values = std::array<std::string_view, events::attribution_dimensions.size()>;

// Adds (sign +1) or removes (-1) a whole visit from its visit dimension rows. Only the visit as
// it is now adds its visitor hashes: sketches cannot subtract, and the visitor did visit. `values`:
// v's attribution unpacked; `entry_page` equals v.entry_page (views of one string let the
// writer skip hashing repeats).
void add_visit(const visits::snapshot& v, std::string_view entry_page,
               const attribution_values& values, int sign,
               std::vector<storage::rollup_delta>& out) {
  // `event_counted`: the total, whose pageviews, events and visitors are counted per event, at the
  // event's time.
  auto count = [&](dimension d, std::string_view value, bool event_counted) {
    auto& delta = out.emplace_back();
    delta.dimension = d;
    delta.value = value;
    delta.at_ms = v.start_ms;
    delta.visits = sign;
    delta.bounces = v.bounce ? sign : 0;
    delta.duration_ms = sign * v.duration_ms();
    if (!event_counted) {
      delta.pageviews = sign * v.pageviews;
      delta.events = sign * v.events;
    }
    // Exit pages count exits, not visitors: the exit moves with every event, and a sketch
    // cannot forget the visitor on the page the visit left.
    if (sign > 0 && !event_counted && d != dimension::exit_page) {
      delta.visit_visitors = v.visitor_hashes;
    }
  };
  count(dimension::total, {}, true);
  count(dimension::entry_page, entry_page, false);
  count(dimension::exit_page, v.exit_page, false);
  for (std::size_t i = 0; i < values.size(); ++i) {
    count(events::attribution_dimensions[i], values[i], false);
  }
}

}  // namespace

void add_rollup_deltas(storage::stored_event& s, std::int64_t received_ms,
                       std::string_view drop_reason, const visits::transition* visit) {
  if (s.dropped) {
    auto& dropped = s.deltas.emplace_back();
    dropped.dimension = dimension::dropped;
    dropped.value = drop_reason;
    dropped.at_ms = received_ms;
    dropped.events = 1;
    return;
  }
  s.deltas.reserve(s.deltas.size() + 6 +
                   (1 + (visit != nullptr ? visit->before.size() : 0)) *
                       (3 + events::attribution_dimensions.size()));
  add_event_dimensions(s, received_ms);
  if (visit != nullptr) {
    // A visit keeps its first event's entry page and attribution: the visit as it was usually
    // has the same ones as it is now, so its deltas view the same strings.
    const auto& after = visit->after;
    const auto after_values = unpack_attribution(after.attribution);
    for (const auto& before : visit->before) {
      const bool same = before.attribution == after.attribution;
      add_visit(before,
                before.entry_page == after.entry_page ? std::string_view(after.entry_page)
                                                      : std::string_view(before.entry_page),
                same ? after_values : unpack_attribution(before.attribution), -1, s.deltas);
    }
    add_visit(after, after.entry_page, after_values, +1, s.deltas);
  }
}

}  // namespace plumb::ingest
