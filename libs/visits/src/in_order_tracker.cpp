#include "plumb/visits/in_order_tracker.hpp"

#include <algorithm>
#include <stdexcept>

namespace plumb::visits {
namespace {

constexpr std::int64_t timeout_ms =
    std::chrono::duration_cast<std::chrono::milliseconds>(visit_timeout).count();

std::vector<std::uint64_t> union_of(const std::vector<std::uint64_t>& a,
                                    const std::vector<std::uint64_t>& b) {
  std::vector<std::uint64_t> out;
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

}  // namespace

std::vector<transition> in_order_tracker::apply(std::span<const hit> hits) {
  std::vector<transition> out;
  out.reserve(hits.size());
  for (const auto& h : hits) {
    if (h.received_ms < last_ms_) {
      throw std::invalid_argument("visits::in_order_tracker: hits must come in time order");
    }
    last_ms_ = h.received_ms;
    // Once in a while, forget visits no event can join any more.
    if (last_ms_ - pruned_at_ms_ > timeout_ms) {
      std::erase_if(latest_, [&](const auto& entry) {
        return entry.second.shown.last_ms + timeout_ms < last_ms_;
      });
      pruned_at_ms_ = last_ms_;
    }

    // The visits this event joins: its key's latest, and yesterday's key's across midnight
    // (visit.lua's window test; in time order only the end of a visit can be within reach).
    const visitor_key own{h.site_id, h.visitor_hash};
    std::vector<visitor_key> keys;
    if (h.previous_visitor_hash != 0 && h.previous_visitor_hash != h.visitor_hash) {
      keys.emplace_back(h.site_id, h.previous_visitor_hash);
    }
    keys.push_back(own);
    std::vector<visit> joined;
    for (const auto& key : keys) {
      const auto it = latest_.find(key);
      if (it != latest_.end() && h.received_ms <= it->second.shown.last_ms + timeout_ms &&
          h.received_ms >= it->second.shown.start_ms - timeout_ms) {
        joined.push_back(std::move(it->second));
        latest_.erase(it);
      }
    }
    std::sort(joined.begin(), joined.end(), [](const visit& a, const visit& b) {
      return a.shown.start_ms != b.shown.start_ms ? a.shown.start_ms < b.shown.start_ms
                                                  : a.shown.visit_id < b.shown.visit_id;
    });

    auto& t = out.emplace_back();
    for (const auto& v : joined) {
      t.before.push_back(v.shown);
    }
    visit now;
    if (joined.empty()) {
      now.shown = {h.event_id, h.received_ms, h.received_ms, h.page, h.page, h.attribution,
                   0, 0, false, {h.visitor_hash}};
      now.entry_event_id = now.exit_event_id = h.event_id;
    } else {
      // visit.lua's merge: the earliest visit keeps its id and takes the others in.
      now = std::move(joined.front());
      for (std::size_t i = 1; i < joined.size(); ++i) {
        const auto& b = joined[i];
        if (b.shown.start_ms < now.shown.start_ms ||
            (b.shown.start_ms == now.shown.start_ms && b.entry_event_id < now.entry_event_id)) {
          now.shown.entry_page = b.shown.entry_page;
          now.shown.attribution = b.shown.attribution;
          now.entry_event_id = b.entry_event_id;
        }
        if (b.shown.last_ms > now.shown.last_ms ||
            (b.shown.last_ms == now.shown.last_ms && now.exit_event_id < b.exit_event_id)) {
          now.shown.exit_page = b.shown.exit_page;
          now.exit_event_id = b.exit_event_id;
        }
        now.shown.start_ms = std::min(now.shown.start_ms, b.shown.start_ms);
        now.shown.last_ms = std::max(now.shown.last_ms, b.shown.last_ms);
        now.shown.pageviews += b.shown.pageviews;
        now.shown.events += b.shown.events;
        now.interactive_events += b.interactive_events;
        now.shown.visitor_hashes = union_of(now.shown.visitor_hashes, b.shown.visitor_hashes);
      }
      // visit.lua's merge_event.
      if (h.received_ms < now.shown.start_ms ||
          (h.received_ms == now.shown.start_ms && h.event_id < now.entry_event_id)) {
        now.shown.entry_page = h.page;
        now.shown.attribution = h.attribution;
        now.entry_event_id = h.event_id;
      }
      if (h.received_ms > now.shown.last_ms ||
          (h.received_ms == now.shown.last_ms && now.exit_event_id < h.event_id)) {
        now.shown.exit_page = h.page;
        now.exit_event_id = h.event_id;
      }
      now.shown.start_ms = std::min(now.shown.start_ms, h.received_ms);
      now.shown.last_ms = std::max(now.shown.last_ms, h.received_ms);
      now.shown.visitor_hashes = union_of(now.shown.visitor_hashes, {h.visitor_hash});
    }
    now.shown.pageviews += h.pageview ? 1 : 0;
    now.shown.events += h.pageview ? 0 : 1;
    now.interactive_events += h.interactive_event ? 1 : 0;
    now.shown.bounce = now.shown.pageviews == 1 && now.interactive_events == 0;
    t.after = now.shown;
    latest_[own] = std::move(now);
  }
  return out;
}

}  // namespace plumb::visits
