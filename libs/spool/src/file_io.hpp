#pragma once
// Thin POSIX helpers: an owning file descriptor and loops that finish short reads and writes and
// retry EINTR. They return 0 or an errno value, so each caller chooses between an error result
// (hot paths) and a throw (opening).

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

namespace plumb::spool::detail {

class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  // Closes the descriptor. close() errors are not actionable (Linux releases the descriptor even
  // on EINTR, and data integrity comes from the explicit syncs), so they are not reported.
  void reset() noexcept;

 private:
  int fd_ = -1;
};

// Reads up to `size` bytes at `offset`, stopping early only at end of file; `got` says how many.
int read_at(int fd, char* out, std::size_t size, std::uint64_t offset, std::size_t& got) noexcept;
// Writes all `size` bytes at `offset`.
int write_at(int fd, const char* data, std::size_t size, std::uint64_t offset) noexcept;
// fdatasync(): file data reaches the disk (used for segments and the checkpoint).
int sync_data(int fd) noexcept;
// fsync(): used on the directory, so created, renamed and deleted names reach the disk.
int sync_all(int fd) noexcept;
// "<what>: <OS reason>", for error messages.
std::string describe(int err, const std::string& what);

}  // namespace plumb::spool::detail
