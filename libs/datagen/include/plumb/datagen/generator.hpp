#pragma once
// Deterministic ground-truth traffic: visitors, visits and events for one or several sites, as
// the collector would have put them on the stream, plus what every report must say about them.
//
// Used by the end-to-end accounting test (events through Redis, workers and PostgreSQL, every
// rollup compared with expected_rollups()) and by `plumbctl gen` (benchmarks, demo history).
//
// The truth is computed here from what the generator decided (which events form a visit, what its
// first event carried), never by the worker's code: a bug shared by both would otherwise pass.
// The expected dimension values of user agents and landing sources live in fixed tables
// (user_agents(), landing_sources()); a unit test proves they agree with plumb::enrich.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "plumb/events/dimension.hpp"
#include "plumb/events/event.hpp"

namespace plumb::datagen {

struct site_spec {
  std::int64_t id = 0;
  // Page host of the site's URLs, without "www." (some visitors get the "www." form, as real
  // sites see both); empty means "site<id>.example.com".
  std::string host;
  // Share of the visitors (and so, roughly, of the events) relative to the other sites.
  std::uint32_t weight = 1;
};

struct options {
  std::uint64_t seed = 1;
  std::vector<site_spec> sites;  // at least one; ids must be distinct
  std::int64_t start_ms = 0;     // Unix ms; every event is in [start_ms, start_ms + days)
  std::int64_t days = 1;         // at least 1
  // Visitors are added until at least this many events exist; the last visitor's events make
  // the result a few events larger (never more than one visitor's worth).
  std::int64_t target_events = 10'000;
  // Long-tail pages ("/p/<n>") of the heaviest site; every other site gets a share in proportion
  // to its weight. Half of the pageviews after a visit's landing go to one of them, chosen
  // uniformly, the rest to the fixed pages. 0: the fixed pages only (and the same events as
  // before this option existed).
  std::int64_t tail_pages = 0;
};

// One visit as the product defines it (DESIGN.md §4): a run of events of one visitor with no gap
// over 30 minutes, even when the visitor's hash changes at UTC midnight inside it.
struct visit_truth {
  std::int64_t site_id = 0;
  std::string visit_key;      // unique within one generated set, e.g. "s7-v42-1"
  std::int64_t start_ms = 0;  // first event's time
  std::int64_t end_ms = 0;    // last event's time
  std::string entry_page;     // path of the first event (always a pageview)
  std::string exit_page;      // path of the last event
  std::int64_t pageviews = 0;
  std::int64_t events = 0;  // custom events (not pageviews)
  bool bounce = false;      // exactly one pageview and no interactive custom event
  // Values of the visit dimensions (events::attribution_dimensions: source, referrer, channel,
  // utm_*, country, browser, browser_version, os, os_version, device, screen, region, city) as
  // reports must show them. Every one of the 17 is present; "" is a value like any other.
  std::map<events::dimension, std::string> attribution;
  // Distinct visitor hashes of the visit's events, ascending: two for a visit across midnight.
  std::vector<std::uint64_t> visitor_hashes;
  std::size_t user_agent = 0;      // index into user_agents()
  std::size_t landing_source = 0;  // index into landing_sources()
};

struct generated {
  // Sorted by received_ms; ties keep the generation order, so the order is reproducible.
  std::vector<events::event> events;
  // Sorted by start_ms, ties in generation order.
  std::vector<visit_truth> visits;
};

// Same options (seed included) → identical events, ids and truth, on every platform: the
// generator uses its own PRNG and integer arithmetic only. Throws std::invalid_argument on no
// sites, duplicate site ids, a zero total weight, days < 1 or target_events < 0.
generated generate(const options& opts);

// A user agent of the fixed table, with the dimension values reports must show for it.
struct user_agent_row {
  std::string_view user_agent;
  std::string_view browser;          // browser dimension
  std::string_view browser_version;  // browser_version dimension: "<family> <major>"
  std::string_view os;               // os dimension
  std::string_view os_version;       // os_version dimension: "<family> <version>" or "<family>"
  std::string_view device;           // desktop | mobile | tablet
};
std::span<const user_agent_row> user_agents();

// How a visit lands: the first event's referrer and the query of its URL, with the source
// dimensions reports must show for it.
struct landing_source_row {
  std::string_view referrer;  // absolute URL, or "" for direct
  std::string_view query;     // appended to the landing page path ("?utm_source=..."), or ""
  std::string_view source;
  std::string_view channel;
  std::string_view referrer_host;  // referrer dimension
  std::string_view utm_source;
  std::string_view utm_medium;
  std::string_view utm_campaign;
  std::string_view utm_term;
  std::string_view utm_content;
};
std::span<const landing_source_row> landing_sources();

// Additive counters of one rollup row.
struct counters {
  std::int64_t pageviews = 0;
  std::int64_t events = 0;
  std::int64_t visits = 0;
  std::int64_t bounces = 0;
  std::int64_t duration_ms = 0;
  // Revenue sum in millionths of the currency unit (exact; amounts are decimal text on the wire).
  // Only rows of dimension::revenue carry revenue.
  std::int64_t revenue_micros = 0;
  std::set<std::uint64_t> visitors;  // distinct visitor hashes

  // revenue_micros as decimal text with at least two decimals: 25'000'000 → "25.00".
  std::string revenue() const;
  friend bool operator==(const counters&, const counters&) = default;
};

// Maps an event or visit start time of a site to its bucket, e.g. the start of the UTC hour or of
// the site's local day.
using bucket_fn = std::function<std::int64_t(std::int64_t site_id, std::int64_t unix_ms)>;
using rollup_key = std::tuple<std::int64_t, std::int64_t, events::dimension, std::string>;

// The rows every report is built from: key (site_id, bucket, dimension, value). Semantics
// (DESIGN.md §4, events/dimension.hpp):
// - total (value ""): pageviews and custom events in their own event's bucket, visitors = the
//   distinct hashes of those events; visits, bounces and duration_ms in the visit start's bucket.
// - page, hostname: every event (pageviews and custom events, counted as such) in its bucket;
//   event: custom events by name; prop: "key\x1fvalue" per property pair, counted by the event's
//   kind; revenue: "name\x1fCUR", events and revenue_micros. Visitors: hashes of those events.
// - visit dimensions (the 15 attribution ones plus entry_page and exit_page): one count per visit
//   under its value, in the visit start's bucket, with the whole visit's visits=1, bounces,
//   duration_ms, pageviews, events, and its visitor hashes.
std::map<rollup_key, counters> expected_rollups(const generated& data, const bucket_fn& bucket);

// The rows workers store (docs/ROLLUPS.md): expected_rollups per local day, plus the total rows per
// local hour as dimension::total_hourly. `local_ms` maps an instant of a site to its local wall
// clock (ms since 1970-01-01 00:00 local), which is what buckets hold.
std::map<rollup_key, counters> expected_stored_rollups(const generated& data,
                                                       const bucket_fn& local_ms);

}  // namespace plumb::datagen
