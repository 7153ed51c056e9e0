#pragma once
// The stream entry contract between collector and worker (proto/stream/README.md): flat
// field/value pairs in a Redis stream entry, field "v" carrying the format version.

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plumb/core/expected.hpp"
#include "plumb/events/event.hpp"

namespace plumb::events {

inline constexpr int stream_entry_version = 1;  // also in stream_entry.cpp as text

using fields = std::vector<std::pair<std::string, std::string>>;

// Calls `visit(field, value)` for each field of the entry for `e`, in the fixed order of the
// contract (so golden files compare byte for byte). The views are valid during the call only.
using field_visitor = std::function<void(std::string_view field, std::string_view value)>;
void for_each_field(const event& e, const field_visitor& visit);

// The entry for `e` as field/value pairs.
fields encode(const event& e);

struct decode_error {
  std::string field;
  std::string message;
};

// Rebuilds the event; rejects unknown versions, missing required fields, malformed numbers and
// ids, and an id whose timestamp disagrees with the receive time.
expected<event, decode_error> decode(const fields& entry);

}  // namespace plumb::events
