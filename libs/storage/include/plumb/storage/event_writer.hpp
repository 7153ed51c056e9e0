#pragma once
// Writes batches of enriched events and their rollup deltas to PostgreSQL, exactly once.

#include <array>
#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "plumb/core/event_id.hpp"
#include "plumb/events/dimension.hpp"
#include "plumb/events/event.hpp"
#include "plumb/storage/dictionary.hpp"

namespace plumb::storage {

// The dimension values stored on every kept event (events.<name>_id columns), in column order.
inline constexpr std::array<events::dimension, 2 + events::attribution_dimensions.size()>
    stored_dimensions = [] {
      std::array<events::dimension, 2 + events::attribution_dimensions.size()> all{
          events::dimension::hostname, events::dimension::page};
      for (std::size_t i = 0; i < events::attribution_dimensions.size(); ++i) {
        all[2 + i] = events::attribution_dimensions[i];
      }
      return all;
    }();

// A change one event makes to one rollup row. Counters may be negative: a visit's totals move
// between rows as later events extend it (see visits::transition).
// `value` and `revenue` are views (an event makes about 40 deltas, mostly of values it already
// holds): whatever they point into must outlive write() and must not move meanwhile, e.g. the
// event's own `values` while the batch is not resized, or its `owned_values`. Copying a
// stored_event copies the views: they still point into the original.
struct rollup_delta {
  events::dimension dimension = events::dimension::total;
  std::string_view value;
  std::int64_t at_ms =
      0;  // counted in the rollup bucket (local day or hour) containing this instant
  std::int64_t pageviews = 0;
  std::int64_t events = 0;
  std::int64_t visits = 0;
  std::int64_t bounces = 0;
  std::int64_t duration_ms = 0;
  std::string_view revenue;   // decimal amount (as validated by the collector), or empty
  bool adds_visitor = false;  // adds the event's visitor hash to the row's visitor sketch
  // Adds these hashes to the sketch: all of the event's visit's (one per daily salt: a visit
  // spanning midnight has two). A view, like `value`.
  std::span<const std::uint64_t> visit_visitors;
};

struct stored_event {
  core::event_id id;  // its timestamp is the receive time, and picks the partition
  std::int64_t site_id = 0;
  std::uint64_t visitor_hash = 0;
  // Dropped events (bots, spam) keep only their id, so a redelivery is tallied once; their
  // deltas count the reason (dimension::dropped). The fields below are for kept events.
  bool dropped = false;
  core::event_id visit_id;
  std::string name;
  bool interactive = true;
  std::array<std::string, stored_dimensions.size()> values;  // by stored_dimensions
  std::string props_json;                                    // JSON object, or empty
  std::optional<events::revenue> revenue;
  std::vector<rollup_delta> deltas;
  // Composite delta values ("key\x1fvalue") that exist nowhere else. Deltas may point into these
  // strings: moving the vector keeps its elements where they are, but adding to it after the
  // views are taken may not (reserve first).
  std::vector<std::string> owned_values;
};

struct write_result {
  std::size_t inserted = 0;    // new events (kept or dropped)
  std::size_t duplicates = 0;  // already stored by an earlier delivery; their deltas were skipped
};

// Not thread-safe: one per worker connection (it caches dictionary numbers and known partitions).
class event_writer {
 public:
  // One transaction: COPY the batch into events / dropped_events (under a savepoint; if any event
  // is already stored, instead through session-local staging tables and INSERT … ON CONFLICT DO
  // NOTHING), then add to the rollups, one upsert per rollup row the batch touches, the deltas of
  // exactly the events that insert added (a redelivered event adds nothing). Numbers new
  // dimension values and creates missing monthly partitions first, in their own transactions.
  // Throws pqxx errors; on any throw nothing of the batch was committed.
  write_result write(pqxx::connection& conn, std::span<const stored_event> batch);

 private:
  void ensure_partitions(pqxx::connection& conn, std::span<const stored_event> batch);

  dictionary dictionary_;
  std::set<std::int64_t> known_months_;  // months since 1970-01 whose partitions exist
};

// Money in millionths: the collector accepts 18-digit amounts, beyond int64 once scaled.
__extension__ typedef __int128 micros;

// Parses a decimal amount ("12.5", "-3", "0.0000005") into millionths, rounding half away from
// zero like numeric(…, 6); nullopt when it is not a plain decimal or does not fit.
std::optional<micros> parse_micros(std::string_view amount);
// Formats millionths as a decimal with six fraction digits ("12.500000").
std::string format_micros(micros amount);

}  // namespace plumb::storage
