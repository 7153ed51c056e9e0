#pragma once
// On-disk layout, version 1. Integers are little-endian.
//   segment file:    "PLSP" | u32 version | record...
//   record:          u32 payload length (1..max_record_bytes) | u32 CRC32C(payload) | payload
//   checkpoint file: "PLCK" | u32 checkpoint version | u64 segment | u64 offset
//                    [version 2: | u64 in-flight segment | u64 in-flight offset | u64 note]
//                    | u32 CRC32C(all bytes before it)
// The checkpoint means: every record before byte `offset` of segment `segment`, and every record
// of older segments, has been replayed. Version 2 adds the end of the stretch after it that was
// marked in flight (spool::mark_in_flight; segment 0: none) and the caller's note. Version 1
// files (no in-flight stretch) are still read.

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace plumb::spool::detail {

inline constexpr std::string_view segment_magic = "PLSP";
inline constexpr std::string_view checkpoint_magic = "PLCK";
inline constexpr std::uint32_t format_version = 1;
inline constexpr std::uint64_t segment_header_bytes = 8;
inline constexpr std::uint64_t record_header_bytes = 8;
inline constexpr std::uint32_t checkpoint_version = 2;
inline constexpr std::size_t checkpoint_v1_bytes = 28;
inline constexpr std::size_t checkpoint_bytes = 52;

inline constexpr std::string_view checkpoint_file = "checkpoint";
inline constexpr std::string_view checkpoint_temp_file = "checkpoint.tmp";
inline constexpr std::string_view lock_file = "LOCK";

// 20 digits hold every u64, so the names sort in sequence order in `ls` too.
inline constexpr std::size_t segment_digits = 20;
inline constexpr std::string_view segment_suffix = ".seg";

inline void store_le32(char* out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    out[i] = static_cast<char>((v >> (8 * i)) & 0xFFU);
  }
}
inline void store_le64(char* out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<char>((v >> (8 * i)) & 0xFFU);
  }
}
inline std::uint32_t load_le32(const char* in) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    v |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  }
  return v;
}
inline std::uint64_t load_le64(const char* in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  }
  return v;
}

inline std::string segment_file_name(std::uint64_t seq) {
  std::string digits = std::to_string(seq);
  return std::string(segment_digits - digits.size(), '0') + digits + std::string(segment_suffix);
}

// The sequence number of a segment file name; nullopt for any other file.
inline std::optional<std::uint64_t> parse_segment_file_name(std::string_view name) {
  if (name.size() != segment_digits + segment_suffix.size() || !name.ends_with(segment_suffix)) {
    return std::nullopt;
  }
  std::uint64_t seq = 0;
  const char* end = name.data() + segment_digits;
  const auto [ptr, ec] = std::from_chars(name.data(), end, seq);
  if (ec != std::errc() || ptr != end || seq == 0) {
    return std::nullopt;
  }
  return seq;
}

}  // namespace plumb::spool::detail
