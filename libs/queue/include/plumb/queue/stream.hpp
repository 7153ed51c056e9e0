#pragma once
// The ingest queue: a Redis stream that collectors append to and a consumer group of workers
// reads. Entries are events::fields (proto/stream/README.md).

#include <chrono>
#include <span>
#include <string>
#include <vector>

#include "plumb/events/keys.hpp"
#include "plumb/events/stream_entry.hpp"
#include "plumb/redis/connection.hpp"

namespace plumb::queue {

// Appends entries with one pipelined round trip. Never trims the stream: trimming could drop
// entries no worker has consumed yet. Throws redis::error (connection) or std::runtime_error
// (an error reply, e.g. OOM above maxmemory); then none or some entries may have been appended,
// which is safe to retry: workers store each event_id once.
void append(redis::connection& redis, const events::keys& keys,
            std::span<const events::fields> entries);

struct message {
  std::string stream_id;  // Redis entry id, for XACK
  events::fields fields;
};

class consumer {
 public:
  consumer(redis::connection& redis, events::keys keys, std::string name);

  // Creates the consumer group (from the start of the stream) if it does not exist yet.
  void ensure_group();
  // Entries delivered to this consumer earlier but never acknowledged (e.g. before a crash).
  std::vector<message> read_pending(std::size_t count);
  // New entries, waiting up to `block` for the first one.
  std::vector<message> read_new(std::size_t count, std::chrono::milliseconds block);
  void ack(std::span<const message> messages);
  // Moves an entry that can never be processed to the dead-letter stream with its error, then
  // acknowledges it, so it neither blocks the group nor disappears.
  void dead_letter(const message& m, std::string_view error);

  const std::string& name() const { return name_; }

 private:
  std::vector<message> read(std::size_t count, std::chrono::milliseconds block, std::string_view from);

  redis::connection& redis_;
  events::keys keys_;
  std::string name_;
};

}  // namespace plumb::queue
