#pragma once
// The ingest queue: a Redis stream that collectors append to and a consumer group of workers
// reads. Entries are events::fields (proto/stream/README.md).

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

#include "plumb/events/keys.hpp"
#include "plumb/events/stream_entry.hpp"
#include "plumb/redis/connection.hpp"

namespace plumb::queue {

// A stream entry serialised once, where it is accepted: a RESP array of its field and value bulk
// strings. These bytes are what the collector's spool stores and what XADD sends.
std::string serialize(const events::fields& entry);
// The same bytes straight from an event (the collector's hot path: no intermediate pairs).
std::string serialize(const events::event& e);
// The fields back; nullopt when `record` is not a well-formed serialised entry.
std::optional<events::fields> deserialize(std::string_view record);

// A stream entry's one field (proto/stream/README.md): the serialised fields of one or more events,
// back to back. Executing an XADD costs Redis per entry and per field more than per byte, and
// Redis's CPU is what every collector shares: the collector packs the events of one turn of its
// event loop into one entry, up to max_events_per_entry.
inline constexpr std::string_view entry_field = "e";
inline constexpr std::size_t max_events_per_entry = 32;

// The events of a stream entry as Redis returns its fields, [name, value, ...]: each serialised
// event in entry_field, or the pairs themselves for entries written as pairs (before entry_field,
// and dead-letter entries). An entry_field value that is not a sequence of serialised events comes
// back as one event holding that pair, for decoding to reject.
std::vector<events::fields> entry_events(const redis::reply& pairs);

// The one encoding of serialised events as stream appends, in Redis protocol: append() sends these
// bytes on a blocking connection, the collector's I/O-thread pipeline on a non-blocking one
// (services/collector/stream_writer.hpp). Both return false, with `out` as it was, when an event
// is not a serialised event (serialize()).
class xadd_encoder {
 public:
  explicit xadd_encoder(std::string_view stream);
  // One XADD per event: "XADD <stream> * e <event>".
  bool encode(std::string& out, std::span<const std::string> serialized_events) const;
  // One XADD for all of them (at most max_events_per_entry): "XADD <stream> * e <event><event>…".
  bool encode_entry(std::string& out, std::span<const std::string> serialized_events) const;

 private:
  std::string prefix_;  // "*5\r\n$4\r\nXADD\r\n$<n>\r\n<stream>\r\n$1\r\n*\r\n$1\r\ne\r\n"
};

// Thrown by append(): the first `appended` entries are in the stream (Redis confirmed them), the
// rest are not, or not known to be.
class append_error : public std::runtime_error {
 public:
  append_error(const std::string& what, std::size_t appended)
      : std::runtime_error(what), appended_(appended) {}
  std::size_t appended() const { return appended_; }

 private:
  std::size_t appended_;
};

// Appends serialised entries with one pipelined round trip. Never trims the stream: trimming
// could drop entries no worker has consumed yet. Throws append_error (connection loss, timeout,
// an error reply such as OOM above maxmemory, a malformed record). An entry whose confirmation
// was lost may be in the stream: re-send it only after find_event_ids() did not find it.
void append(redis::connection& redis, const events::keys& keys,
            std::span<const std::string> serialized_entries);

// The event_id and receive time (Unix ms, the collector's clock) of a serialised entry; nullopt
// when it has no "id" or no numeric "ts" field.
struct entry_identity {
  std::string event_id;
  std::int64_t received_ms = 0;
};
std::optional<entry_identity> identify(std::string_view serialized_entry);

// How far Redis's clock may move against ours between an append and the check for it (NTP
// corrections, a failover to a server whose clock differs a little): find_event_ids() looks this
// much further back. Wider only costs reading more entries.
inline constexpr std::chrono::milliseconds clock_tolerance{5'000};

// Which of `event_ids` the ingest stream holds, looking at the entries Redis added since
// `since_ms` on our clock (wall clock now: `now_ms`) and later. Stream ids are Redis's clock, so
// Redis's TIME converts `since_ms` first, less clock_tolerance. Reads oldest first in pages,
// stopping once all are found. An entry workers have already consumed and trimmed is not found.
// Throws redis::error (I/O) and std::runtime_error (error replies).
std::unordered_set<std::string> find_event_ids(redis::connection& redis, const events::keys& keys,
                                               std::int64_t since_ms, std::int64_t now_ms,
                                               const std::unordered_set<std::string>& event_ids);

// One event of a stream entry.
struct message {
  std::string stream;     // the stream it was read from
  std::string stream_id;  // Redis entry id, for XACK
  events::fields fields;
  // How many events of the entry this consumer has yet to settle (acknowledge, defer or
  // dead-letter), shared by their messages: the entry is acknowledged with the last of them, so
  // it stays pending, and is delivered again, until every one of its events is settled.
  std::shared_ptr<std::size_t> unsettled_in_entry;
};

// One consumer of the workers' group on one stream: the ingest stream by default, or the
// deferred stream (keys::deferred_stream).
class consumer {
 public:
  consumer(redis::connection& redis, events::keys keys, std::string name);
  consumer(redis::connection& redis, events::keys keys, std::string name, std::string stream);

  // Creates the consumer group (from the start of the stream) if it does not exist yet.
  void ensure_group();
  // Reads take whole entries: about `count` events (as many entries as that many events filled in
  // the consumer's previous read, at least one), at most `count` entries.
  //
  // Entries delivered to this consumer earlier but never acknowledged (e.g. before a crash).
  std::vector<message> read_pending(std::size_t count);
  // New entries, waiting up to `block` for the first one.
  std::vector<message> read_new(std::size_t count, std::chrono::milliseconds block);
  // Settles each message: its entry is acknowledged, on the stream it came from, once all of its
  // events are settled.
  void ack(std::span<const message> messages);
  // Moves events to another stream of the same group (an entry each, with the same fields) and
  // settles them here, in one MULTI/EXEC: an entry whose events are all settled is then in
  // exactly one place. An entry with events still to settle stays pending meanwhile; should it
  // be delivered again, its moved events may be stored twice in the streams, and workers store
  // each event_id once. Throws std::runtime_error on error replies (nothing moved then).
  void defer(std::span<const message> messages, const std::string& to_stream);
  // Moves an event that can never be processed to the dead-letter stream with its error, then
  // settles it, so it neither blocks the group nor disappears.
  void dead_letter(const message& m, std::string_view error);

  // Takes over entries that have been pending for at least `min_idle` with any consumer of the
  // group (a crashed worker's, or this one's after repeated failures). The events of entries
  // already delivered `max_deliveries` times come back in `exhausted` (now pending with this
  // consumer) for the caller to dead-letter; the others in `claimed`, to process again.
  struct claim_result {
    std::vector<message> claimed;
    std::vector<message> exhausted;
  };
  claim_result claim_idle(std::chrono::milliseconds min_idle, std::size_t count,
                          std::int64_t max_deliveries);

  const std::string& name() const { return name_; }
  const std::string& stream() const { return stream_; }

 private:
  std::vector<message> read(std::size_t count, std::chrono::milliseconds block,
                            std::string_view from);
  // The ids of the entries whose last unsettled events are among `messages`, which are settled.
  static std::vector<std::string_view> settle(std::span<const message> messages);

  redis::connection& redis_;
  events::keys keys_;
  std::string name_;
  std::string stream_;
  double events_per_entry_ = 1;  // in the previous read that returned entries
};

// Removes from the ingest and deferred streams every entry that all consumer groups have both
// received and acknowledged — and nothing else: the oldest pending or undelivered entry of any
// group, and all after it, stay. Returns how many entries were removed. Throws
// std::runtime_error on error replies.
std::int64_t trim_consumed(redis::connection& redis, const events::keys& keys);

// The dead-letter stream, for operators (plumbctl dlq).
struct dead_letter {
  std::string id;         // entry id in the dead-letter stream
  std::string error;      // why it was dead-lettered
  events::fields fields;  // the original stream entry
};
// Oldest first, at most `limit`.
std::vector<dead_letter> list_dead_letters(redis::connection& redis, const events::keys& keys,
                                           std::size_t limit);
// Puts the entry back on the ingest stream and removes it from the dead-letter stream. False
// when there is no such entry. Throws std::runtime_error on a Redis error reply.
bool retry_dead_letter(redis::connection& redis, const events::keys& keys, std::string_view id);

}  // namespace plumb::queue
