#pragma once
// Visit state in Redis (DESIGN.md: a visit is a run of one visitor's events on one site with no
// gap over 30 minutes of event time). One Lua script applies each event atomically and returns the
// visit as it was before and after that event; callers add (after - before) to their counters.
// Because every event's transition is added exactly once, the sums equal the final state whatever
// order the workers process one visitor's events in, and a retried event gets its first answer
// back (cached in the visit's hash) without changing anything.

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "plumb/events/keys.hpp"
#include "plumb/redis/connection.hpp"

namespace plumb::visits {

// A gap longer than this (by event time) ends a visit.
inline constexpr std::chrono::minutes visit_timeout{30};
// "Current visitors" are those with an event this recent.
inline constexpr std::chrono::minutes current_visitor_window{5};

struct hit {
  std::int64_t site_id = 0;
  std::uint64_t visitor_hash = 0;           // under today's daily salt
  std::uint64_t previous_visitor_hash = 0;  // same visitor under yesterday's salt; 0 = unknown
  std::int64_t received_ms = 0;             // event time (Unix ms)
  std::string event_id;                     // unique id of the event (UUID text); idempotency key
  bool pageview = false;                    // name == "pageview"
  bool interactive_event = false;           // a custom event that counts against bounce
  std::string page;                         // page path of this event
  std::string attribution;  // opaque bytes; the visit keeps the attribution of its earliest event
};

struct snapshot {
  std::string visit_id;  // event_id of the event that opened the visit (kept across midnight)
  std::int64_t start_ms = 0;
  std::int64_t last_ms = 0;
  // entry_page and attribution: of the earliest event (ties: smaller event_id);
  // exit_page: of the latest event (ties: larger event_id).
  std::string entry_page;
  std::string exit_page;
  std::string attribution;
  std::int64_t pageviews = 0;
  std::int64_t events = 0;  // custom (non-pageview) events
  bool bounce = false;      // pageviews == 1 && no interactive event
  std::int64_t duration_ms() const { return last_ms - start_ms; }

  bool operator==(const snapshot&) const = default;
};

struct transition {
  std::optional<snapshot> before;  // empty: this event opened a new visit
  snapshot after;

  bool operator==(const transition&) const = default;
};

// Not thread-safe (like the connection it borrows); one per worker loop.
class tracker {
 public:
  // Every key starts with keys.prefix(); `conn` must outlive the tracker.
  tracker(redis::connection& conn, const events::keys& keys);

  // Applies `hits` with one pipelined round trip (EVALSHA per hit; the script is loaded on first
  // use and reloaded when Redis answers NOSCRIPT). Returns one transition per hit, in input order.
  // Throws redis::error on I/O failure or an error reply; nothing needs undoing, as retrying the
  // whole batch returns the same transitions for the hits already applied. Callers bound the
  // batch size (the whole request and all replies are held in memory).
  //
  // Limits, by design: the answer cache lives in the visit's hash, which expires 30 minutes
  // (wall clock) after its last event, so a retry later than that is applied again; an event
  // more than 30 minutes before its visit's start counts as a one-event visit of its own; and a
  // visit longer than 30 minutes whose events arrive with a gap over 30 minutes in between is
  // split where the gap was seen.
  std::vector<transition> apply(std::span<const hit> hits);

  // Distinct visitors of the site with an event in [now_ms - 5 min, now_ms] (event time). Each
  // visitor counts by its latest event, so one later than now_ms still counts it.
  std::int64_t current_visitors(std::int64_t site_id, std::int64_t now_ms);

 private:
  std::string load_script();

  redis::connection& conn_;
  std::string prefix_;
  std::string script_sha_;  // empty until the first apply()
};

}  // namespace plumb::visits
