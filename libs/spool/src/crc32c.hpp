#pragma once
// CRC-32C (Castagnoli; reflected polynomial 0x82F63B78), the checksum of iSCSI, ext4 and LevelDB.
// Software slicing-by-8: Debian ships no C/C++ CRC32C library we could use, and at ~1.5 GB/s it
// is far faster than the disk it guards.

#include <cstddef>
#include <cstdint>

namespace plumb::spool::detail {

// The CRC of `size` bytes at `data`. Chains: crc32c(b, n, crc32c(a, m)) is the CRC of a then b.
std::uint32_t crc32c(const void* data, std::size_t size, std::uint32_t crc = 0) noexcept;

}  // namespace plumb::spool::detail
