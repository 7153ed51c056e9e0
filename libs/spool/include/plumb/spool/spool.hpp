#pragma once
// A local, append-only, checksummed spool of opaque records. The collector appends here when
// Redis is unreachable, slow or above its memory watermark, and a replayer drains it oldest-first
// once Redis is healthy, so an accepted hit is never lost:
//   - after append() returns, the records are in the OS page cache: they survive SIGKILL;
//   - they reach the disk at most fsync_interval later (append() syncs when the interval has
//     passed, and the owner calls sync() at least that often), so a machine crash loses at most
//     the last interval;
//   - replay is at-least-once: records after the last commit() come back after a restart; a
//     record before a commit never comes back, and none is ever skipped unless its bytes on disk
//     are damaged (then it is skipped and counted). A replayer that must not deliver twice marks
//     a batch in flight (mark_in_flight) before sending it: until committed, those records come
//     back - after rewind() or in a later process - flagged, so it can check what arrived.
//
// On disk: a directory (created 0700 if missing) holding segment files named after a 20-digit
// sequence number ("00000000000000000001.seg", files 0600), a "checkpoint" with the committed
// replay position (replaced atomically: write temp, fsync, rename, fsync directory), and a "LOCK"
// file held with flock() so two spools - in one process or two - never share a directory.
// Format details are in src/format.hpp.
//
// Recovery on open: every segment from the checkpoint on is scanned once (cost: reading the
// pending bytes, bounded by max_total_bytes). Damage is never fatal:
//   - a torn tail (the bytes after the last valid record of the newest segment, left by a crash
//     mid-write) is truncated away and counted in torn_tails; a newest segment with no valid
//     record at all (crash while creating it) is deleted and counted the same way. Damage to
//     the last record of the newest segment looks exactly like a torn write and is treated so;
//   - a damaged record elsewhere (bad length or CRC mismatch) is skipped: the reader searches
//     forward for the next offset where a well-formed record with a matching CRC starts and
//     continues there, so one flipped byte costs one record, not the rest of the segment. Each
//     skipped stretch counts once in corrupt_records when the reader first passes it. A damaged
//     segment header costs no records (it counts once); an older segment with nothing valid in
//     it is deleted and counted the same way;
//   - a corrupt checkpoint is ignored: replay restarts at the oldest segment (duplicates, never
//     loss).
// A segment whose header names a format version this build does not know does make opening fail:
// deleting data a newer build wrote would be worse than refusing to start. Existing segments are
// never appended to again: the first append after opening starts a new segment.
//
// Thread safety: every member function takes one internal mutex, so the publisher thread may
// append while a replayer thread drains. A sync or a cold read holds the mutex for the duration
// of that disk operation.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "plumb/core/clock.hpp"
#include "plumb/core/expected.hpp"

namespace plumb::spool {

// Largest record append() accepts. Stream entries are well under 4 KiB; the bound also keeps a
// damaged length field from sending the reader through gigabytes and bounds a batch's memory.
inline constexpr std::size_t max_record_bytes = 64 * 1024;

// Segment size target: large enough that creating files (a directory fsync each) is rare, small
// enough that replayed space is given back promptly (a segment is deleted once fully committed).
inline constexpr std::uint64_t default_max_segment_bytes = 16 * 1024 * 1024;
// Disk the spool may use: about two million typical stream entries, hours of a busy site's hits.
inline constexpr std::uint64_t default_max_total_bytes = 1024ULL * 1024 * 1024;
// How much accepted data a machine crash may lose; fdatasync costs milliseconds, so not per hit.
inline constexpr std::chrono::milliseconds default_fsync_interval{200};
// Memory one next_batch() may fill when the caller does not say (at least one record is returned).
inline constexpr std::size_t default_batch_bytes = 4 * 1024 * 1024;

enum class errc {
  spool_full,        // max_total_bytes would be exceeded: the whole batch was refused
  record_too_large,  // a record is over max_record_bytes: the whole batch was refused
  empty_record,      // a record is empty (an empty frame is what a zero-filled crashed block
                     // looks like, so the format cannot hold one): the whole batch was refused
  invalid_position,  // commit() got a position this spool did not hand out, or one already passed
  io_error,          // the OS refused a read, write, sync, rename or unlink; message says which
};

struct error {
  errc code;
  std::string message;  // file name and OS reason; no record content
};

// The result of operations that return nothing on success.
using status = expected<std::monostate, error>;

struct options {
  std::filesystem::path directory;
  // Soft limit: a segment is closed before a record that would take it over this size, but always
  // holds at least one record (so one record larger than this gets a segment of its own).
  std::uint64_t max_segment_bytes = default_max_segment_bytes;
  // Hard limit on segment bytes on disk; append() refuses whole batches beyond it (spool_full).
  std::uint64_t max_total_bytes = default_max_total_bytes;
  // Zero syncs on every append.
  std::chrono::milliseconds fsync_interval = default_fsync_interval;
  // Time source for the fsync interval; nullptr means the system clock. Must outlive the spool.
  const core::clock* clock = nullptr;
};

// A point in the spool between two records. Treat it as opaque: pass back to commit() only
// positions that this spool object returned in a batch.
struct position {
  std::uint64_t segment = 0;  // segment sequence number
  std::uint64_t offset = 0;   // byte offset inside that segment
  std::uint64_t index = 0;    // records handed out before this point since open (for stats)
};

struct batch {
  std::vector<std::string> records;  // oldest first; empty when nothing is pending
  position end;                      // commit(end) marks every record of this batch replayed
  // Set when these records were marked in flight (mark_in_flight) and not committed since: they
  // may have been delivered. Holds that mark's note. A batch never straddles the mark's end.
  std::optional<std::uint64_t> in_flight;
};

// Counters are since this spool object was opened; gauges describe the directory now.
struct statistics {
  std::uint64_t bytes_on_disk = 0;    // gauge: segment file bytes
  std::uint64_t segments = 0;         // gauge: segment files
  std::uint64_t records_pending = 0;  // gauge: valid records not yet committed (exact)
  std::uint64_t appended = 0;         // records accepted by append()
  std::uint64_t replayed = 0;         // records passed by commit()
  std::uint64_t dropped_full = 0;     // records refused with spool_full
  std::uint64_t torn_tails = 0;       // torn tails found (and cut) when opening
  std::uint64_t corrupt_records = 0;  // damaged stretches skipped (a bad header counts once)
  std::uint64_t syncs = 0;            // fdatasync calls on segment data
  std::uint64_t sync_errors = 0;      // failed fdatasync: data since the last sync may be lost
};

class spool {
 public:
  // Opens or creates the spool directory and recovers it (see above). Throws std::system_error
  // when the directory cannot be created, opened, locked (another spool holds it) or read, and
  // std::invalid_argument for impossible options.
  explicit spool(options opts);
  // Syncs unsynced data (best effort; errors are ignored, as nothing can act on them here).
  ~spool();
  spool(const spool&) = delete;
  spool& operator=(const spool&) = delete;

  // Appends the records in order. All-or-nothing for refusals (spool_full, record_too_large,
  // empty_record): nothing is written. Normally one pwrite() of the whole batch; a batch that
  // spans a segment boundary takes one per segment, and an io_error on a later segment leaves the
  // earlier part spooled (it will be replayed). Syncs if fsync_interval has passed since the
  // oldest unsynced write; a failed sync there does not fail the append (the data is in the page
  // cache as promised) but counts in sync_errors and moves later appends to a new segment.
  status append(std::span<const std::string> records);

  // fdatasync of unsynced appended data, if any. The owner calls this every fsync_interval.
  status sync();

  // Up to max_records records (and about max_bytes bytes, but at least one record) after the
  // read cursor, oldest first, advancing the cursor. An empty batch means the reader has caught up
  // with the writer. Damaged records are skipped and counted. An io_error returns the records
  // read before it, if any, as a batch; a lasting error comes back on the next call.
  expected<batch, error> next_batch(std::size_t max_records,
                                    std::size_t max_bytes = default_batch_bytes);

  // Durably records that every record before `end` has been replayed, then deletes segments that
  // are fully replayed. `end` must lie between the last commit and the read cursor
  // (invalid_position otherwise; committing the last commit again is a no-op). io_error before the
  // checkpoint is durable leaves the commit undone; io_error while deleting replayed segments
  // leaves it done, and deletion is retried by the next commit.
  status commit(const position& end);

  // Durably records that the records from the last commit up to `end` (a position handed out
  // since, as for commit()) are about to be delivered, with the caller's `note` (e.g. when).
  // Until a commit passes `end`, next_batch hands these records out flagged with the note
  // (batch::in_flight), also after a restart. A new mark replaces the previous one. Errors as
  // for commit(); after an io_error the previous mark stays.
  status mark_in_flight(const position& end, std::uint64_t note);

  // Moves the read cursor back to the last commit, e.g. after a failed send to Redis.
  void rewind();

  statistics stats() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;  // keeps file descriptors and POSIX headers out of this header
};

}  // namespace plumb::spool
