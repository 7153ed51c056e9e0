#pragma once
// Event identifiers are UUIDv7 (RFC 9562): 48-bit Unix-ms timestamp, then random bits. The
// collector mints one per accepted hit from the hit's receive time, so the id alone pins the
// event's time partition: a redelivered event always lands on the same partition, which is what
// lets PostgreSQL enforce "stored once" with a unique key that includes the partition column.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "plumb/core/clock.hpp"

namespace plumb::core {

class event_id {
 public:
  // A fresh id for an event received at `received`.
  static event_id generate(time_point received);
  // The id with timestamp `unix_ms_value` (low 48 bits) and the given random bits, with the
  // version and variant set: what generate() builds from fresh randomness, for callers that need
  // reproducible ids (the ground-truth generator in libs/datagen).
  static event_id from_parts(std::int64_t unix_ms_value, std::uint64_t random_a,
                             std::uint64_t random_b);
  // Parses the canonical 36-character form; nullopt on anything else (case-insensitive hex).
  static std::optional<event_id> parse(std::string_view text);

  // Canonical lowercase form, e.g. "01890a5d-ac96-774b-bcce-b302099a8057".
  std::string to_string() const;
  // The same 36 characters into `out`, without allocating.
  void write_to(char (&out)[36]) const;
  // The Unix-ms timestamp embedded in the id.
  std::int64_t unix_ms() const;

  const std::array<std::uint8_t, 16>& bytes() const { return bytes_; }
  friend bool operator==(const event_id&, const event_id&) = default;

 private:
  std::array<std::uint8_t, 16> bytes_{};
};

}  // namespace plumb::core
