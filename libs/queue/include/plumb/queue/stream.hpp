#pragma once
// The ingest queue: a Redis stream that collectors append to and a consumer group of workers
// reads. Entries are events::fields (proto/stream/README.md).

#include <chrono>
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

// A stream entry's one field (proto/stream/README.md): its serialised fields. One field costs
// Redis about half the CPU of a field per pair, and Redis's CPU is what every collector shares.
inline constexpr std::string_view entry_field = "e";

// The fields of a stream entry as Redis returns them, [name, value, ...]: the serialised fields
// in entry_field, or the pairs themselves for entries written as pairs (before entry_field, and
// dead-letter entries).
events::fields entry_fields(const redis::reply& pairs);

// The one encoding of serialised entries as stream appends: "XADD <stream> * e <entry>" in Redis
// protocol, one command per entry. append() sends these bytes on a blocking connection, the
// collector's I/O-thread pipeline on a non-blocking one (services/collector/stream_writer.hpp).
class xadd_encoder {
 public:
  explicit xadd_encoder(std::string_view stream);
  // Appends one XADD per entry to `out`. False, with `out` as it was, when an entry is not a
  // serialised entry (serialize()).
  bool encode(std::string& out, std::span<const std::string> serialized_entries) const;

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

struct message {
  std::string stream;     // the stream it was read from
  std::string stream_id;  // Redis entry id, for XACK
  events::fields fields;
};

// One consumer of the workers' group on one stream: the ingest stream by default, or the
// deferred stream (keys::deferred_stream).
class consumer {
 public:
  consumer(redis::connection& redis, events::keys keys, std::string name);
  consumer(redis::connection& redis, events::keys keys, std::string name, std::string stream);

  // Creates the consumer group (from the start of the stream) if it does not exist yet.
  void ensure_group();
  // Entries delivered to this consumer earlier but never acknowledged (e.g. before a crash).
  std::vector<message> read_pending(std::size_t count);
  // New entries, waiting up to `block` for the first one.
  std::vector<message> read_new(std::size_t count, std::chrono::milliseconds block);
  // Acknowledges each message on the stream it came from.
  void ack(std::span<const message> messages);
  // Moves messages to another stream of the same group (its entries keep their fields) and
  // acknowledges them here, in one MULTI/EXEC: each is then in exactly one place. Throws
  // std::runtime_error on error replies (nothing moved then).
  void defer(std::span<const message> messages, const std::string& to_stream);
  // Moves an entry that can never be processed to the dead-letter stream with its error, then
  // acknowledges it, so it neither blocks the group nor disappears.
  void dead_letter(const message& m, std::string_view error);

  // Takes over entries that have been pending for at least `min_idle` with any consumer of the
  // group (a crashed worker's, or this one's after repeated failures). Entries already delivered
  // `max_deliveries` times come back in `exhausted` (now pending with this consumer) for the
  // caller to dead-letter; the others in `claimed`, to process again.
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

  redis::connection& redis_;
  events::keys keys_;
  std::string name_;
  std::string stream_;
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
