#pragma once
// Wall-clock time, injected so tests decide what "now" is (STYLE.md: deterministic tests).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace plumb::core {

using time_point = std::chrono::system_clock::time_point;

class clock {
 public:
  virtual ~clock() = default;
  virtual time_point now() const = 0;
};

// The real wall clock (UTC, as every timestamp Plumb stores).
class system_clock final : public clock {
 public:
  time_point now() const override { return std::chrono::system_clock::now(); }
  static const system_clock& instance() {
    static const system_clock c;
    return c;
  }
};

// A clock that only moves when told to; safe to read from several threads.
class fake_clock final : public clock {
 public:
  explicit fake_clock(time_point start) : now_(start.time_since_epoch().count()) {}
  time_point now() const override { return time_point(time_point::duration(now_.load())); }
  void set(time_point t) { now_.store(t.time_since_epoch().count()); }
  void advance(std::chrono::milliseconds d) {
    now_.fetch_add(std::chrono::duration_cast<time_point::duration>(d).count());
  }

 private:
  std::atomic<time_point::rep> now_;
};

// Milliseconds since the Unix epoch: the unit of every timestamp on the wire.
inline std::int64_t unix_ms(time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
inline time_point from_unix_ms(std::int64_t ms) {
  return time_point(std::chrono::milliseconds(ms));
}

// RFC 3339 UTC with milliseconds, e.g. "2026-11-21T22:39:13.123Z" (logs, SQL timestamptz input).
std::string format_utc(std::int64_t unix_ms);

}  // namespace plumb::core
