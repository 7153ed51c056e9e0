#include "plumb/ingest/batch.hpp"

#include <stdexcept>

#include "plumb/ingest/rollup_deltas.hpp"

namespace plumb::ingest {

batch::batch(const enricher& enricher, std::vector<events::event> events)
    : events_(std::move(events)) {
  enriched_.reserve(events_.size());
  hits_.reserve(events_.size());
  for (const auto& e : events_) {
    auto& x = enriched_.emplace_back(enricher.enrich(e));
    if (x.kept()) {
      hits_.push_back({e.site_id, e.visitor_hash, e.previous_visitor_hash, e.received_ms,
                       e.id.to_string(), e.name == events::pageview_name,
                       e.name != events::pageview_name && e.interactive,
                       x.value(events::dimension::page), x.attribution()});
    }
  }
}

std::vector<storage::stored_event> batch::stored(std::span<const visits::transition> transitions) {
  if (transitions.size() != hits_.size()) {
    throw std::invalid_argument("ingest::batch: one transition per hit is needed");
  }
  // Sized once: the deltas point into the rows, which must never move.
  std::vector<storage::stored_event> rows(events_.size());
  std::size_t next_transition = 0;
  for (std::size_t i = 0; i < events_.size(); ++i) {
    auto& e = events_[i];
    auto& x = enriched_[i];
    auto& s = rows[i];
    s.id = e.id;
    s.site_id = e.site_id;
    s.visitor_hash = e.visitor_hash;
    s.dropped = !x.kept();
    if (s.dropped) {
      add_rollup_deltas(s, e.received_ms, x.drop_reason, nullptr);
      continue;
    }
    const auto& visit = transitions[next_transition];
    // A visit this event opened has its id: no need to parse the text back.
    s.visit_id = visit.after.visit_id == hits_[next_transition].event_id
                     ? e.id
                     : core::event_id::parse(visit.after.visit_id).value_or(e.id);
    ++next_transition;
    s.name = std::move(e.name);
    s.interactive = e.interactive;
    s.values = std::move(x.values);
    s.props_json = std::move(e.props_json);
    s.revenue = std::move(e.revenue);
    add_rollup_deltas(s, e.received_ms, {}, &visit);
  }
  return rows;
}

}  // namespace plumb::ingest
