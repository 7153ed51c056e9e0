#include "segment_reader.hpp"

#include <algorithm>
#include <cerrno>

#include "crc32c.hpp"
#include "file_io.hpp"
#include "format.hpp"
#include "plumb/spool/spool.hpp"

namespace plumb::spool::detail {

static_assert(read_chunk_bytes >= record_header_bytes + max_record_bytes,
              "a record frame must fit one buffer fill");

void segment_reader::reset(int fd) noexcept {
  fd_ = fd;
  buffer_offset_ = 0;
  buffered_ = 0;
}

int segment_reader::load(std::uint64_t at, std::size_t size, std::uint64_t limit,
                         const char*& data) {
  if (at >= buffer_offset_ && at + size <= buffer_offset_ + buffered_) {
    data = buffer_.data() + (at - buffer_offset_);
    return 0;
  }
  // Refill from `at`: reading forward is what every caller does next.
  const std::size_t want = static_cast<std::size_t>(
      std::min<std::uint64_t>(limit - at, std::max(size, read_chunk_bytes)));
  if (buffer_.size() < want) {
    buffer_.resize(want);
  }
  buffered_ = 0;
  buffer_offset_ = at;
  std::size_t got = 0;
  if (const int err = read_at(fd_, buffer_.data(), want, at, got); err != 0) {
    return err;
  }
  buffered_ = got;
  if (got < size) {
    return EIO;  // the file ends before the limit we were told: it shrank under us
  }
  data = buffer_.data();
  return 0;
}

int segment_reader::valid_at(std::uint64_t at, std::uint64_t limit, bool& valid,
                             std::string_view& payload, std::uint64_t& checksummed) {
  valid = false;
  if (limit - at <= record_header_bytes) {
    return 0;  // no room for a header and a non-empty payload
  }
  const char* header = nullptr;
  if (const int err = load(at, record_header_bytes, limit, header); err != 0) {
    return err;
  }
  const std::uint32_t length = load_le32(header);
  const std::uint32_t crc = load_le32(header + 4);
  // Zero is what a zero-filled block after a crash reads as; it is never written (empty_record).
  if (length == 0 || length > max_record_bytes || length > limit - at - record_header_bytes) {
    return 0;
  }
  const char* frame = nullptr;
  if (const int err = load(at, record_header_bytes + length, limit, frame); err != 0) {
    return err;
  }
  checksummed += length;
  if (crc32c(frame + record_header_bytes, length) != crc) {
    return 0;
  }
  valid = true;
  payload = std::string_view(frame + record_header_bytes, length);
  return 0;
}

int segment_reader::next(std::uint64_t offset, std::uint64_t limit, step& out) {
  out = step{};
  if (offset >= limit) {
    out.what = kind::end;
    out.next = offset;
    return 0;
  }
  bool valid = false;
  std::uint64_t checksummed = 0;
  if (const int err = valid_at(offset, limit, valid, out.payload, checksummed); err != 0) {
    return err;
  }
  if (valid) {
    out.what = kind::record;
    out.next = offset + record_header_bytes + out.payload.size();
    return 0;
  }
  // Damaged: the length may be wrong too, so search byte by byte for the next offset where a
  // well-formed record with a matching CRC starts. A false match needs a plausible length and a
  // 1-in-2^32 CRC coincidence.
  out.what = kind::corrupt;
  out.next = limit;
  std::string_view ignored;
  for (std::uint64_t at = offset + 1; limit - at > record_header_bytes; ++at) {
    if (checksummed > resync_budget_bytes) {
      out.gave_up = true;
      return 0;
    }
    if (const int err = valid_at(at, limit, valid, ignored, checksummed); err != 0) {
      return err;
    }
    if (valid) {
      out.next = at;
      return 0;
    }
  }
  return 0;
}

}  // namespace plumb::spool::detail
