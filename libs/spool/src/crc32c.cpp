#include "crc32c.hpp"

#include <array>

namespace plumb::spool::detail {
namespace {

constexpr std::uint32_t polynomial = 0x82F63B78U;

// tables[0] is the classic byte table; tables[k][b] is the CRC of byte b followed by k zero
// bytes, which lets the main loop fold eight input bytes per step.
using table_set = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr table_set make_tables() {
  table_set t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) {
      c = (c & 1U) != 0 ? (c >> 1) ^ polynomial : c >> 1;
    }
    t[0][i] = c;
  }
  for (std::size_t i = 0; i < 256; ++i) {
    for (std::size_t k = 1; k < 8; ++k) {
      t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFFU];
    }
  }
  return t;
}

constexpr table_set tables = make_tables();

inline std::uint32_t load_le32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

}  // namespace

std::uint32_t crc32c(const void* data, std::size_t size, std::uint32_t crc) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  while (size >= 8) {
    const std::uint32_t lo = crc ^ load_le32(p);
    const std::uint32_t hi = load_le32(p + 4);
    crc = tables[7][lo & 0xFFU] ^ tables[6][(lo >> 8) & 0xFFU] ^ tables[5][(lo >> 16) & 0xFFU] ^
          tables[4][lo >> 24] ^ tables[3][hi & 0xFFU] ^ tables[2][(hi >> 8) & 0xFFU] ^
          tables[1][(hi >> 16) & 0xFFU] ^ tables[0][hi >> 24];
    p += 8;
    size -= 8;
  }
  for (; size > 0; --size, ++p) {
    crc = (crc >> 8) ^ tables[0][(crc ^ *p) & 0xFFU];
  }
  return ~crc;
}

}  // namespace plumb::spool::detail
