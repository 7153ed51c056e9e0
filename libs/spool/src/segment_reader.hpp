#pragma once
// Parses the records of one segment file through a read-ahead buffer. Used both by the recovery
// scan when opening and by replay, so both agree exactly on which records are valid.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace plumb::spool::detail {

// Bytes read per pread(): many records per syscall during replay and scans. At least one full
// record frame, so a record is always parsed from a single buffer fill.
inline constexpr std::size_t read_chunk_bytes = 256 * 1024;

// Payload bytes the search for the next valid record may checksum before giving up on the rest of
// the segment. Only adversarial payloads (a plausible length at nearly every offset) come close;
// the bound keeps such a segment from stalling the spool for minutes (~0.2 s at software speed).
inline constexpr std::uint64_t resync_budget_bytes = 256 * 1024 * 1024;

class segment_reader {
 public:
  enum class kind {
    record,   // a valid record at the offset: `payload`, and `next` is the offset after it
    corrupt,  // damaged bytes at the offset; `next` is where the next valid record starts, or the
              // limit when none does (`gave_up` when the search budget ran out first)
    end,      // the offset is at or past the limit
  };
  struct step {
    kind what = kind::end;
    std::uint64_t next = 0;
    std::string_view payload;  // valid until the next call
    bool gave_up = false;
  };

  // Starts reading another file (not owned). Forgets buffered bytes.
  void reset(int fd) noexcept;

  // Parses at `offset`, never looking at bytes at or after `limit`. Returns 0 or an errno value
  // (EIO if the file is shorter than `limit`).
  int next(std::uint64_t offset, std::uint64_t limit, step& out);

 private:
  // Whether a well-formed record with a matching CRC starts at `at`; `payload` is set if so.
  int valid_at(std::uint64_t at, std::uint64_t limit, bool& valid, std::string_view& payload,
               std::uint64_t& checksummed);
  // Makes bytes [at, at + size) resident in the buffer; at + size <= limit.
  int load(std::uint64_t at, std::size_t size, std::uint64_t limit, const char*& data);

  int fd_ = -1;
  std::vector<char> buffer_;
  std::uint64_t buffer_offset_ = 0;  // file offset of buffer_[0]
  std::size_t buffered_ = 0;         // valid bytes in buffer_
};

}  // namespace plumb::spool::detail
