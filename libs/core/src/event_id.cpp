#include "plumb/core/event_id.hpp"

#include <random>

#include "plumb/core/text.hpp"

namespace plumb::core {
namespace {

// Uniqueness, not secrecy, is what event ids need: a per-thread generator seeded from the OS.
std::uint64_t random_u64() {
  thread_local std::mt19937_64 engine{[] {
    std::random_device device;
    return (std::uint64_t{device()} << 32) ^ device();
  }()};
  return engine();
}

constexpr bool is_dash_position(std::size_t i) { return i == 8 || i == 13 || i == 18 || i == 23; }

}  // namespace

event_id event_id::generate(time_point received) {
  return from_parts(core::unix_ms(received), random_u64(), random_u64());
}

event_id event_id::from_parts(std::int64_t unix_ms_value, std::uint64_t random_a,
                              std::uint64_t random_b) {
  event_id id;
  const auto ms = static_cast<std::uint64_t>(unix_ms_value);
  for (int i = 0; i < 6; ++i) {
    id.bytes_[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(ms >> (40 - 8 * i));
  }
  for (std::size_t i = 6; i < 16; ++i) {
    id.bytes_[i] = static_cast<std::uint8_t>((i < 8 ? random_a : random_b) >> (8 * (i % 8)));
  }
  id.bytes_[6] = static_cast<std::uint8_t>(0x70 | (id.bytes_[6] & 0x0F));  // version 7
  id.bytes_[8] = static_cast<std::uint8_t>(0x80 | (id.bytes_[8] & 0x3F));  // RFC 9562 variant
  return id;
}

std::optional<event_id> event_id::parse(std::string_view text) {
  if (text.size() != 36) {
    return std::nullopt;
  }
  event_id id;
  std::size_t byte = 0;
  for (std::size_t i = 0; i < text.size();) {
    if (is_dash_position(i)) {
      if (text[i] != '-') {
        return std::nullopt;
      }
      ++i;
      continue;
    }
    const int hi = hex_digit_value(text[i]);
    const int lo = hex_digit_value(text[i + 1]);
    if (hi < 0 || lo < 0 || is_dash_position(i + 1)) {
      return std::nullopt;
    }
    id.bytes_[byte++] = static_cast<std::uint8_t>(hi * 16 + lo);
    i += 2;
  }
  return id;
}

void event_id::write_to(char (&out)[36]) const {
  static constexpr char digits[] = "0123456789abcdef";
  std::size_t o = 0;
  for (std::size_t i = 0; i < bytes_.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      out[o++] = '-';
    }
    out[o++] = digits[bytes_[i] >> 4];
    out[o++] = digits[bytes_[i] & 0x0F];
  }
}

std::string event_id::to_string() const {
  char text[36];
  write_to(text);
  return std::string(text, sizeof text);
}

std::int64_t event_id::unix_ms() const {
  std::uint64_t ms = 0;
  for (std::size_t i = 0; i < 6; ++i) {
    ms = (ms << 8) | bytes_[i];
  }
  return static_cast<std::int64_t>(ms);
}

}  // namespace plumb::core
