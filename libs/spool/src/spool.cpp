#include "plumb/spool/spool.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "crc32c.hpp"
#include "file_io.hpp"
#include "format.hpp"
#include "segment_reader.hpp"

namespace plumb::spool {

using detail::checkpoint_bytes;
using detail::describe;
using detail::format_version;
using detail::record_header_bytes;
using detail::segment_file_name;
using detail::segment_header_bytes;
using detail::unique_fd;

namespace {

[[noreturn]] void throw_os(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

unexpected<error> fail(errc code, std::string message) {
  return unexpected<error>(error{code, std::move(message)});
}

unexpected<error> io_failure(int err, const std::string& what) {
  return fail(errc::io_error, describe(err, what));
}

// Order of positions in the spool; `index` only follows it.
bool before(const position& a, const position& b) {
  return a.segment < b.segment || (a.segment == b.segment && a.offset < b.offset);
}

struct segment_meta {
  std::uint64_t seq = 0;
  std::uint64_t start = 0;  // first byte replay looks at: the header end, or the checkpoint
  std::uint64_t end = 0;    // end of the data: the file size (the write offset while open)
  bool sealed = true;       // no longer appended to; deleted once replay commits past `end`
};

}  // namespace

struct spool::impl {
  explicit impl(options o);
  ~impl();
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  status append(std::span<const std::string> records);
  status sync();
  expected<batch, error> next_batch(std::size_t max_records, std::size_t max_bytes);
  status commit(const position& end);
  status mark_in_flight(const position& end, std::uint64_t note);
  void rewind();
  statistics stats() const;

 private:
  struct in_flight_mark {
    position end;
    std::uint64_t note = 0;
  };
  struct checkpoint_state {
    position committed;
    std::optional<in_flight_mark> in_flight;
  };
  // Refuses positions outside [last commit, cursor].
  std::optional<error> check_handed_out(const position& end) const;
  void open_directory();
  void recover();
  std::optional<checkpoint_state> read_checkpoint();
  std::vector<std::uint64_t> list_segments() const;
  void scan_segment(std::uint64_t seq, bool newest, std::uint64_t start_hint);

  bool writing() const noexcept { return static_cast<bool>(active_fd_); }
  status roll_over();
  void seal_active();
  void mark_dirty();
  int sync_active();
  void maybe_sync();

  std::optional<std::size_t> locate_cursor();
  int open_reader(const segment_meta& seg);
  int write_checkpoint(const position& committed, const std::optional<in_flight_mark>& in_flight);
  int collect_garbage(std::string& failed);
  std::string path_of(std::string_view name) const { return (dir_ / name).string(); }

  options opts_;
  const core::clock* clock_;
  std::filesystem::path dir_;
  unique_fd dir_fd_;
  unique_fd lock_fd_;

  mutable std::mutex mutex_;
  std::deque<segment_meta> segments_;  // ascending seq; the open segment, if any, is last
  std::uint64_t next_seq_ = 1;
  std::uint64_t disk_bytes_ = 0;
  std::uint64_t total_records_ = 0;  // records with an index: found when opening, then appended
  statistics counters_;

  // Writer: the open segment (segments_.back() while active_fd_ is valid).
  unique_fd active_fd_;
  bool dirty_ = false;  // written since the last fdatasync
  core::time_point dirty_since_;

  // Reader.
  position committed_;  // durable in the checkpoint
  position cursor_;     // next record to hand out
  position furthest_;   // furthest cursor so far: damage is counted once, not again after rewind
  std::optional<in_flight_mark> in_flight_;  // durable in the checkpoint; always after committed_
  unique_fd read_fd_;
  std::uint64_t read_seq_ = 0;
  detail::segment_reader reader_;
};

// ---- opening and recovery ------------------------------------------------------------------

spool::impl::impl(options o)
    : opts_(std::move(o)),
      clock_(opts_.clock != nullptr ? opts_.clock : &core::system_clock::instance()) {
  if (opts_.directory.empty()) {
    throw std::invalid_argument("spool: directory is empty");
  }
  if (opts_.max_segment_bytes <= segment_header_bytes + record_header_bytes) {
    throw std::invalid_argument("spool: max_segment_bytes cannot hold a single record");
  }
  if (opts_.max_total_bytes < opts_.max_segment_bytes) {
    throw std::invalid_argument("spool: max_total_bytes is below max_segment_bytes");
  }
  if (opts_.fsync_interval.count() < 0) {
    throw std::invalid_argument("spool: fsync_interval is negative");
  }
  dir_ = opts_.directory.lexically_normal();
  if (!dir_.has_filename()) {
    dir_ = dir_.parent_path();  // "a/b/" -> "a/b", so we create b ourselves, with mode 0700
  }
  open_directory();
  recover();
}

spool::impl::~impl() {
  if (writing() && dirty_) {
    // Best effort: no caller is left to act on a failure.
    static_cast<void>(detail::sync_data(active_fd_.get()));
  }
}

void spool::impl::open_directory() {
  if (dir_.has_parent_path()) {
    std::error_code ignored;  // a failure shows up as the mkdir error below
    std::filesystem::create_directories(dir_.parent_path(), ignored);
  }
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) {
    const int err = errno;
    throw_os(err, "spool: cannot create directory " + dir_.string());
  }
  dir_fd_ = unique_fd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd_) {
    const int err = errno;
    throw_os(err, "spool: cannot open directory " + dir_.string());
  }
  const std::string lock_name(detail::lock_file);
  lock_fd_ =
      unique_fd(::openat(dir_fd_.get(), lock_name.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock_fd_) {
    const int err = errno;
    throw_os(err, "spool: cannot open " + path_of(lock_name));
  }
  // flock() is released by the kernel when the process dies, even by SIGKILL.
  if (::flock(lock_fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err == EWOULDBLOCK) {
      throw_os(EBUSY, "spool: directory " + dir_.string() + " is in use by another spool");
    }
    throw_os(err, "spool: cannot lock " + path_of(lock_name));
  }
}

void spool::impl::recover() {
  // A temp file left by a crash mid-commit: the rename never happened, the old checkpoint holds.
  const std::string temp_name(detail::checkpoint_temp_file);
  static_cast<void>(::unlinkat(dir_fd_.get(), temp_name.c_str(), 0));

  const std::optional<checkpoint_state> saved = read_checkpoint();
  const std::uint64_t checkpoint_seq = saved ? saved->committed.segment : 0;
  const std::uint64_t checkpoint_offset = saved ? saved->committed.offset : 0;
  std::vector<std::uint64_t> seqs = list_segments();

  // Segments before the checkpoint were fully replayed; a crash interrupted their deletion.
  bool removed = false;
  while (!seqs.empty() && seqs.front() < checkpoint_seq) {
    const std::string name = segment_file_name(seqs.front());
    if (::unlinkat(dir_fd_.get(), name.c_str(), 0) != 0 && errno != ENOENT) {
      const int err = errno;
      throw_os(err, "spool: cannot delete replayed segment " + path_of(name));
    }
    removed = true;
    seqs.erase(seqs.begin());
  }
  // New segments must sort after the checkpoint even when every older file is gone.
  next_seq_ = std::max(checkpoint_seq, seqs.empty() ? 0 : seqs.back()) + 1;

  const std::size_t before_scan = seqs.size();
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    const std::uint64_t start =
        seqs[i] == checkpoint_seq ? checkpoint_offset : segment_header_bytes;
    scan_segment(seqs[i], i + 1 == seqs.size(), start);
  }
  removed = removed || segments_.size() != before_scan;
  if (removed) {
    if (const int err = detail::sync_all(dir_fd_.get()); err != 0) {
      throw_os(err, "spool: cannot sync directory " + dir_.string());
    }
  }

  committed_ = segments_.empty() ? position{checkpoint_seq, checkpoint_offset, 0}
                                 : position{segments_.front().seq, segments_.front().start, 0};
  cursor_ = committed_;
  furthest_ = committed_;
  if (saved && saved->in_flight && before(committed_, saved->in_flight->end)) {
    in_flight_ = saved->in_flight;
  }
  std::string failed;
  if (const int err = collect_garbage(failed); err != 0) {
    throw_os(err, "spool: cannot delete replayed segment " + failed);
  }
}

std::optional<spool::impl::checkpoint_state> spool::impl::read_checkpoint() {
  const std::string name(detail::checkpoint_file);
  const unique_fd fd(::openat(dir_fd_.get(), name.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    const int err = errno;
    if (err == ENOENT) {
      return std::nullopt;
    }
    throw_os(err, "spool: cannot open " + path_of(name));
  }
  char buf[checkpoint_bytes + 1];  // one more, to notice a file that is too long
  std::size_t got = 0;
  if (const int err = detail::read_at(fd.get(), buf, sizeof buf, 0, got); err != 0) {
    throw_os(err, "spool: cannot read " + path_of(name));
  }
  // A corrupt checkpoint means "replay everything": duplicates are harmless, loss is not.
  const std::uint32_t version = got >= 8 ? detail::load_le32(buf + 4) : 0;
  const std::size_t size = version == 1 ? detail::checkpoint_v1_bytes : checkpoint_bytes;
  if (got != size || std::string_view(buf, 4) != detail::checkpoint_magic ||
      (version != 1 && version != detail::checkpoint_version) ||
      detail::crc32c(buf, size - 4) != detail::load_le32(buf + size - 4)) {
    return std::nullopt;
  }
  checkpoint_state out{position{detail::load_le64(buf + 8), detail::load_le64(buf + 16), 0}, std::nullopt};
  if (version == detail::checkpoint_version && detail::load_le64(buf + 24) != 0) {
    out.in_flight = in_flight_mark{position{detail::load_le64(buf + 24), detail::load_le64(buf + 32), 0},
                                   detail::load_le64(buf + 40)};
  }
  return out;
}

std::vector<std::uint64_t> spool::impl::list_segments() const {
  std::vector<std::uint64_t> seqs;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    if (const auto seq = detail::parse_segment_file_name(entry.path().filename().string())) {
      seqs.push_back(*seq);
    }
  }
  std::sort(seqs.begin(), seqs.end());
  return seqs;
}

void spool::impl::scan_segment(std::uint64_t seq, bool newest, std::uint64_t start_hint) {
  const std::string name = segment_file_name(seq);
  // Read-write, to cut a torn tail.
  const unique_fd fd(::openat(dir_fd_.get(), name.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) {
    const int err = errno;
    throw_os(err, "spool: cannot open segment " + path_of(name));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    const int err = errno;
    throw_os(err, "spool: cannot stat segment " + path_of(name));
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);

  char header[segment_header_bytes];
  std::size_t got = 0;
  if (const int err = detail::read_at(fd.get(), header, sizeof header, 0, got); err != 0) {
    throw_os(err, "spool: cannot read segment " + path_of(name));
  }
  const bool header_ok =
      got == sizeof header && std::string_view(header, 4) == detail::segment_magic;
  if (header_ok && detail::load_le32(header + 4) != format_version) {
    throw_os(static_cast<int>(std::errc::not_supported),
             "spool: segment " + path_of(name) + " has format version " +
                 std::to_string(detail::load_le32(header + 4)) + "; this build reads version " +
                 std::to_string(format_version));
  }

  // A checkpoint past the end happens after a machine crash lost replayed-but-unsynced data.
  const std::uint64_t start =
      std::clamp(start_hint, segment_header_bytes, std::max(size, segment_header_bytes));
  detail::segment_reader reader;
  reader.reset(fd.get());
  std::uint64_t records = 0;
  std::optional<std::uint64_t> tail;  // start of damage that runs to the end of the file
  for (std::uint64_t at = start; at < size;) {
    detail::segment_reader::step step;
    if (const int err = reader.next(at, size, step); err != 0) {
      throw_os(err, "spool: cannot read segment " + path_of(name));
    }
    if (step.what == detail::segment_reader::kind::record) {
      ++records;
    } else if (step.next >= size && !step.gave_up) {
      tail = at;
    }
    at = step.next;
  }

  if (!header_ok && records == 0) {
    // Nothing recoverable: for the newest file, a crash while creating it.
    if (::unlinkat(dir_fd_.get(), name.c_str(), 0) != 0) {
      const int err = errno;
      throw_os(err, "spool: cannot delete damaged segment " + path_of(name));
    }
    ++(newest ? counters_.torn_tails : counters_.corrupt_records);
    return;
  }
  if (!header_ok) {
    ++counters_.corrupt_records;  // the damaged header; the records after it are kept
  }
  std::uint64_t end = size;
  // Only the newest segment can be torn by a crash: older ones were synced when they were
  // sealed. Damage at the end of an older one is left for replay to skip and count.
  if (tail && newest) {
    if (::ftruncate(fd.get(), static_cast<off_t>(*tail)) != 0) {
      const int err = errno;
      throw_os(err, "spool: cannot truncate torn segment " + path_of(name));
    }
    end = *tail;
    ++counters_.torn_tails;
  }
  // The previous process may have been killed before syncing its newest segment, and we never
  // append to it again: sync it now so a later crash cannot tear a segment that is no longer the
  // newest. (This also makes the cut above durable.)
  if (newest) {
    if (const int err = detail::sync_data(fd.get()); err != 0) {
      throw_os(err, "spool: cannot sync segment " + path_of(name));
    }
  }
  segments_.push_back(segment_meta{seq, start, end, true});
  disk_bytes_ += end;
  total_records_ += records;
}

// ---- writer --------------------------------------------------------------------------------

status spool::impl::append(std::span<const std::string> records) {
  const std::lock_guard lock(mutex_);
  if (records.empty()) {
    return std::monostate{};
  }
  for (const auto& record : records) {
    if (record.empty()) {
      return fail(errc::empty_record, "spool: empty record");
    }
    if (record.size() > max_record_bytes) {
      return fail(errc::record_too_large, "spool: record of " + std::to_string(record.size()) +
                                              " bytes is over the limit of " +
                                              std::to_string(max_record_bytes));
    }
  }

  // Place the batch on paper first, so a refusal writes nothing. A segment takes a record that
  // would overflow it only when it holds no record yet.
  const std::uint64_t max_segment = opts_.max_segment_bytes;
  std::uint64_t needed = 0;
  std::uint64_t used = writing() ? segments_.back().end : 0;
  bool open = writing();
  for (const auto& record : records) {
    const std::uint64_t frame = record_header_bytes + record.size();
    if (!open || (used > segment_header_bytes && used + frame > max_segment)) {
      needed += segment_header_bytes;
      used = segment_header_bytes;
      open = true;
    }
    needed += frame;
    used += frame;
  }
  if (disk_bytes_ + needed > opts_.max_total_bytes) {
    counters_.dropped_full += records.size();
    return fail(errc::spool_full, "spool: full (" + std::to_string(disk_bytes_) + " of " +
                                      std::to_string(opts_.max_total_bytes) + " bytes used)");
  }

  std::size_t i = 0;
  while (i < records.size()) {
    const std::uint64_t first_frame = record_header_bytes + records[i].size();
    if (!writing() || (segments_.back().end > segment_header_bytes &&
                       segments_.back().end + first_frame > max_segment)) {
      if (auto rolled = roll_over(); !rolled) {
        return rolled;
      }
    }
    segment_meta& seg = segments_.back();
    // Everything that fits this segment goes out in one pwrite().
    std::string chunk;
    std::uint64_t chunk_end = seg.end;
    std::size_t j = i;
    for (; j < records.size(); ++j) {
      const std::uint64_t frame = record_header_bytes + records[j].size();
      if (j > i && chunk_end + frame > max_segment) {
        break;
      }
      char header[record_header_bytes];
      detail::store_le32(header, static_cast<std::uint32_t>(records[j].size()));
      detail::store_le32(header + 4, detail::crc32c(records[j].data(), records[j].size()));
      chunk.append(header, sizeof header);
      chunk.append(records[j]);
      chunk_end += frame;
    }
    if (const int err = detail::write_at(active_fd_.get(), chunk.data(), chunk.size(), seg.end);
        err != 0) {
      // Take back a partial write so the file ends on a record boundary. If even that fails,
      // seal the segment: replay stops at `end`, and the next append starts a new segment.
      if (::ftruncate(active_fd_.get(), static_cast<off_t>(seg.end)) != 0) {
        seal_active();
      }
      return io_failure(err, "spool: cannot write segment " + path_of(segment_file_name(seg.seq)));
    }
    mark_dirty();
    seg.end = chunk_end;
    disk_bytes_ += chunk.size();
    total_records_ += j - i;
    counters_.appended += j - i;
    i = j;
  }
  maybe_sync();
  return std::monostate{};
}

status spool::impl::sync() {
  const std::lock_guard lock(mutex_);
  if (!writing() || !dirty_) {
    return std::monostate{};
  }
  if (const int err = sync_active(); err != 0) {
    const std::string name = path_of(segment_file_name(segments_.back().seq));
    seal_active();
    return io_failure(err, "spool: cannot sync segment " + name);
  }
  return std::monostate{};
}

status spool::impl::roll_over() {
  seal_active();
  // Consumed even on failure, so a half-created file never blocks the next attempt.
  const std::uint64_t seq = next_seq_++;
  const std::string name = segment_file_name(seq);
  unique_fd fd(::openat(dir_fd_.get(), name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) {
    const int err = errno;
    return io_failure(err, "spool: cannot create segment " + path_of(name));
  }
  char header[segment_header_bytes];
  std::memcpy(header, detail::segment_magic.data(), 4);
  detail::store_le32(header + 4, format_version);
  int err = detail::write_at(fd.get(), header, sizeof header, 0);
  if (err == 0) {
    err = detail::sync_all(dir_fd_.get());  // the new name must survive a crash with its data
  }
  if (err != 0) {
    static_cast<void>(::unlinkat(dir_fd_.get(), name.c_str(), 0));  // recovery copes if it stays
    return io_failure(err, "spool: cannot create segment " + path_of(name));
  }
  segments_.push_back(segment_meta{seq, segment_header_bytes, segment_header_bytes, false});
  disk_bytes_ += segment_header_bytes;
  active_fd_ = std::move(fd);
  mark_dirty();
  // The segment just sealed may be fully replayed already. A failure here is retried, and
  // reported, by the next commit().
  std::string failed;
  static_cast<void>(collect_garbage(failed));
  return std::monostate{};
}

void spool::impl::seal_active() {
  if (!writing()) {
    return;
  }
  if (dirty_) {
    // Sealed segments are synced, so after a crash only the newest one can be torn. A failure is
    // counted in sync_errors; there is nothing better to do with this segment.
    static_cast<void>(sync_active());
  }
  segments_.back().sealed = true;
  active_fd_.reset();
}

void spool::impl::mark_dirty() {
  if (!dirty_) {
    dirty_ = true;
    dirty_since_ = clock_->now();
  }
}

int spool::impl::sync_active() {
  const int err = detail::sync_data(active_fd_.get());
  // Even after a failure the kernel considers the pages clean (a retry would "succeed" without
  // writing them), so the data is unsynced either way.
  dirty_ = false;
  ++counters_.syncs;
  if (err != 0) {
    ++counters_.sync_errors;
  }
  return err;
}

void spool::impl::maybe_sync() {
  // A wall clock stepping backwards only delays this sync to the owner's periodic sync().
  if (writing() && dirty_ && clock_->now() - dirty_since_ >= opts_.fsync_interval) {
    if (sync_active() != 0) {
      seal_active();  // never append to a file whose durability is unknown
    }
  }
}

// ---- reader --------------------------------------------------------------------------------

std::optional<std::size_t> spool::impl::locate_cursor() {
  for (std::size_t k = 0; k < segments_.size(); ++k) {
    const segment_meta& seg = segments_[k];
    if (seg.seq < cursor_.segment) {
      continue;
    }
    if (seg.seq > cursor_.segment) {
      cursor_.segment = seg.seq;
      cursor_.offset = seg.start;
    }
    return k;
  }
  return std::nullopt;
}

int spool::impl::open_reader(const segment_meta& seg) {
  if (read_fd_ && read_seq_ == seg.seq) {
    return 0;
  }
  const std::string name = segment_file_name(seg.seq);
  unique_fd fd(::openat(dir_fd_.get(), name.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    return errno;
  }
  read_fd_ = std::move(fd);
  read_seq_ = seg.seq;
  reader_.reset(read_fd_.get());
  return 0;
}

expected<batch, error> spool::impl::next_batch(std::size_t max_records, std::size_t max_bytes) {
  const std::lock_guard lock(mutex_);
  batch out;
  std::size_t bytes = 0;
  // A batch lies wholly inside or wholly after the in-flight stretch, so it is flagged as a whole.
  const bool in_flight = in_flight_ && before(cursor_, in_flight_->end);
  if (in_flight) {
    out.in_flight = in_flight_->note;
  }
  while (out.records.size() < max_records && !(in_flight && !before(cursor_, in_flight_->end))) {
    const std::optional<std::size_t> k = locate_cursor();
    if (!k) {
      break;
    }
    const segment_meta& seg = segments_[*k];
    if (cursor_.offset >= seg.end) {
      if (!seg.sealed || *k + 1 == segments_.size()) {
        break;  // caught up with the writer
      }
      cursor_.segment = segments_[*k + 1].seq;
      cursor_.offset = segments_[*k + 1].start;
      continue;
    }
    int err = open_reader(seg);
    detail::segment_reader::step step;
    if (err == 0) {
      err = reader_.next(cursor_.offset, seg.end, step);
    }
    if (err != 0) {
      read_fd_.reset();  // reopen next time, in case the file was replaced
      if (!out.records.empty()) {
        break;  // hand out what was read; a lasting error shows again on the next call
      }
      return io_failure(err, "spool: cannot read segment " + path_of(segment_file_name(seg.seq)));
    }
    if (step.what == detail::segment_reader::kind::record) {
      if (!out.records.empty() && bytes + step.payload.size() > max_bytes) {
        break;
      }
      out.records.emplace_back(step.payload);
      bytes += step.payload.size();
      ++cursor_.index;
    } else if (step.what == detail::segment_reader::kind::corrupt && !before(cursor_, furthest_)) {
      ++counters_.corrupt_records;
    }
    cursor_.offset = step.next;
  }
  if (before(furthest_, cursor_)) {
    furthest_ = cursor_;
  }
  out.end = cursor_;
  return out;
}

std::optional<error> spool::impl::check_handed_out(const position& end) const {
  if (before(end, committed_) || before(cursor_, end) || end.index < committed_.index ||
      end.index > cursor_.index) {
    return error{errc::invalid_position, "spool: position outside [last commit, cursor]"};
  }
  return std::nullopt;
}

status spool::impl::mark_in_flight(const position& end, std::uint64_t note) {
  const std::lock_guard lock(mutex_);
  if (auto refused = check_handed_out(end)) {
    return unexpected<error>(std::move(*refused));
  }
  // Marking nothing (end at the last commit) clears the mark.
  const std::optional<in_flight_mark> mark =
      before(committed_, end) ? std::optional(in_flight_mark{end, note}) : std::nullopt;
  if (const int err = write_checkpoint(committed_, mark); err != 0) {
    return io_failure(err, "spool: cannot write checkpoint in " + dir_.string());
  }
  in_flight_ = mark;
  return std::monostate{};
}

status spool::impl::commit(const position& end) {
  const std::lock_guard lock(mutex_);
  if (auto refused = check_handed_out(end)) {
    return unexpected<error>(std::move(*refused));
  }
  if (!before(committed_, end)) {
    return std::monostate{};
  }
  // The in-flight mark outlives a commit only when it reaches further.
  const std::optional<in_flight_mark> in_flight =
      in_flight_ && before(end, in_flight_->end) ? in_flight_ : std::nullopt;
  if (const int err = write_checkpoint(end, in_flight); err != 0) {
    return io_failure(err, "spool: cannot write checkpoint in " + dir_.string());
  }
  counters_.replayed += end.index - committed_.index;
  committed_ = end;
  in_flight_ = in_flight;
  std::string failed;
  if (const int err = collect_garbage(failed); err != 0) {
    return io_failure(err, "spool: committed, but cannot delete replayed segment " + failed);
  }
  return std::monostate{};
}

void spool::impl::rewind() {
  const std::lock_guard lock(mutex_);
  cursor_ = committed_;
}

int spool::impl::write_checkpoint(const position& committed,
                                  const std::optional<in_flight_mark>& in_flight) {
  char buf[checkpoint_bytes];
  std::memcpy(buf, detail::checkpoint_magic.data(), 4);
  detail::store_le32(buf + 4, detail::checkpoint_version);
  detail::store_le64(buf + 8, committed.segment);
  detail::store_le64(buf + 16, committed.offset);
  detail::store_le64(buf + 24, in_flight ? in_flight->end.segment : 0);
  detail::store_le64(buf + 32, in_flight ? in_flight->end.offset : 0);
  detail::store_le64(buf + 40, in_flight ? in_flight->note : 0);
  detail::store_le32(buf + checkpoint_bytes - 4, detail::crc32c(buf, checkpoint_bytes - 4));

  // Write a temp file, sync it, rename it over the old one, sync the directory: after a crash
  // the checkpoint is either the old one or the new one, never a mix.
  const std::string temp_name(detail::checkpoint_temp_file);
  const std::string name(detail::checkpoint_file);
  {
    const unique_fd fd(
        ::openat(dir_fd_.get(), temp_name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd) {
      return errno;
    }
    if (const int err = detail::write_at(fd.get(), buf, sizeof buf, 0); err != 0) {
      return err;
    }
    if (const int err = detail::sync_data(fd.get()); err != 0) {
      return err;
    }
  }
  if (::renameat(dir_fd_.get(), temp_name.c_str(), dir_fd_.get(), name.c_str()) != 0) {
    return errno;
  }
  return detail::sync_all(dir_fd_.get());
}

int spool::impl::collect_garbage(std::string& failed) {
  int result = 0;
  bool removed = false;
  while (!segments_.empty()) {
    const segment_meta& front = segments_.front();
    const bool replayed =
        front.sealed && (front.seq < committed_.segment ||
                         (front.seq == committed_.segment && committed_.offset >= front.end));
    if (!replayed) {
      break;
    }
    const std::string name = segment_file_name(front.seq);
    if (read_seq_ == front.seq) {
      read_fd_.reset();
      reader_.reset(-1);
      read_seq_ = 0;
    }
    if (::unlinkat(dir_fd_.get(), name.c_str(), 0) != 0 && errno != ENOENT) {
      result = errno;
      failed = path_of(name);
      break;
    }
    disk_bytes_ -= front.end;
    segments_.pop_front();
    removed = true;
  }
  if (removed) {
    if (const int err = detail::sync_all(dir_fd_.get()); err != 0 && result == 0) {
      result = err;
      failed = dir_.string();
    }
  }
  return result;
}

statistics spool::impl::stats() const {
  const std::lock_guard lock(mutex_);
  statistics s = counters_;
  s.bytes_on_disk = disk_bytes_;
  s.segments = segments_.size();
  s.records_pending = total_records_ - committed_.index;
  return s;
}

// ---- public forwarding ---------------------------------------------------------------------

spool::spool(options opts) : impl_(std::make_unique<impl>(std::move(opts))) {}
spool::~spool() = default;

status spool::append(std::span<const std::string> records) {
  return impl_->append(records);
}
status spool::sync() {
  return impl_->sync();
}
expected<batch, error> spool::next_batch(std::size_t max_records, std::size_t max_bytes) {
  return impl_->next_batch(max_records, max_bytes);
}
status spool::commit(const position& end) {
  return impl_->commit(end);
}
status spool::mark_in_flight(const position& end, std::uint64_t note) {
  return impl_->mark_in_flight(end, note);
}
void spool::rewind() {
  impl_->rewind();
}
statistics spool::stats() const {
  return impl_->stats();
}

}  // namespace plumb::spool
