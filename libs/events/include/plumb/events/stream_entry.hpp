#pragma once
// The stream entry contract between collector and worker (proto/stream/README.md): flat
// field/value pairs in a Redis stream entry, field "v" carrying the format version.

#include <string>
#include <utility>
#include <vector>

#include "plumb/core/expected.hpp"
#include "plumb/events/event.hpp"

namespace plumb::events {

inline constexpr int stream_entry_version = 1;

using fields = std::vector<std::pair<std::string, std::string>>;

// The entry for `e`, fields in a fixed order (so golden files compare byte for byte).
fields encode(const event& e);

struct decode_error {
  std::string field;
  std::string message;
};

// Rebuilds the event; rejects unknown versions, missing required fields, malformed numbers and
// ids, and an id whose timestamp disagrees with the receive time.
expected<event, decode_error> decode(const fields& entry);

}  // namespace plumb::events
