#pragma once
// Visit state in Redis (DESIGN.md: a visit is a run of one visitor's events on one site with no
// gap over 30 minutes of event time). One Lua script (src/visit.lua) applies a site's events of
// one call atomically, one after the other. Per visitor it keeps a list of visits like merging
// session windows: an event joins every visit within 30 minutes of it, so an event that bridges
// two visits merges them, and a late event finds the visit it belongs to however far the visit
// has grown meanwhile. The script returns, per event, the visits the event extended or merged,
// as they were, and the visit as it is after the event; callers subtract each `before` and add
// `after` to their counters. Because every event's transition is added exactly once, the sums
// equal the finished visits whatever order the workers process one visitor's events in, and a
// retried event gets its first answer back (cached beside the visits) without changing anything.
// Each snapshot also lists the visit's visitor hashes (one per daily salt its events were hashed
// under), so callers can count the visitor under every hash of a visit that spans midnight or
// was merged from parts.

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "plumb/events/keys.hpp"
#include "plumb/redis/connection.hpp"

namespace plumb::visits {

// A gap longer than this (by event time) ends a visit.
inline constexpr std::chrono::minutes visit_timeout{30};
// A visitor's state keeps at most this many visits (those with the latest last events). In real
// time a visitor has one or two (the state expires 30 minutes after its last event); many only
// build up when a backlog of hours is replayed, and then an event can still join any visit of
// its visitor, however late it is processed, as long as fewer than this many visits are newer.
inline constexpr std::size_t max_remembered_visits = 64;
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
  // event_id of the event that opened the visit; a merged visit keeps the id of its earliest
  // part. Kept across midnight.
  std::string visit_id;
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
  // The distinct visitor_hash values of the visit's events, ascending: one per daily salt the
  // visit has events under (two for a visit across midnight), never empty. A merged visit has
  // the union of its parts'. Callers add the visit's visitor under each to the sketches of the
  // visit's rows. (previous_visitor_hash values are only used to find visits, not added.)
  std::vector<std::uint64_t> visitor_hashes;
  std::int64_t duration_ms() const { return last_ms - start_ms; }

  bool operator==(const snapshot&) const = default;
};

struct transition {
  // The visits this event extended (one) or merged (two or more, by start), as they were before
  // it; each is subtracted by the caller. Empty: the event opened a new visit.
  std::vector<snapshot> before;
  snapshot after;  // the visit the event belongs to now

  bool operator==(const transition&) const = default;
};

// Not thread-safe (like the connection it borrows); one per worker loop.
class tracker {
 public:
  // Every key starts with keys.prefix(); `conn` must outlive the tracker.
  tracker(redis::connection& conn, const events::keys& keys);

  // Applies `hits` with one pipelined round trip: one EVALSHA per site (per 500 hits of a site),
  // which applies that site's hits in input order, exactly as one call per hit would (the script
  // is loaded on first use and reloaded when Redis answers NOSCRIPT). Returns one transition per
  // hit, in input order.
  // Throws redis::error on I/O failure or an error reply; nothing needs undoing, as retrying the
  // whole batch returns the same transitions for the hits already applied. Callers bound the
  // batch size (the whole request and all replies are held in memory).
  //
  // Midnight: a hit's visits are looked up under visitor_hash, previous_visitor_hash and the
  // later days' hashes linked from them, so a visit continues across the salt change in any
  // processing order; it is stored under the hash of the latest day it has an event in.
  //
  // Limits, by design: the state (visits and answer cache) expires 30 minutes (wall clock) after
  // the visitor's last processed event, so a retry later than that is applied again and an event
  // processed later than that cannot join the visits it belongs to; beyond
  // max_remembered_visits the oldest visits are forgotten; and a hit finds visits stored at most
  // two days after its own day (a visit would need a whole day of activity to reach further).
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
