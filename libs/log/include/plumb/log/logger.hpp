#pragma once
// Services log one JSON object per line: {"ts":"…","level":"info","svc":"collector","msg":"…",…}.
// Libraries never log; they return errors and the service decides what is worth a line.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <span>
#include <type_traits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>

namespace plumb::log {

enum class level { debug = 0, info = 1, warn = 2, error = 3 };

// Parses "debug" | "info" | "warn" | "error".
std::optional<level> parse_level(std::string_view text);

struct field {
  field(std::string_view k, std::string_view v) : key(k), value(std::string(v)) {}
  field(std::string_view k, const char* v) : key(k), value(std::string(v)) {}
  field(std::string_view k, const std::string& v) : key(k), value(v) {}
  field(std::string_view k, bool v) : key(k), value(v) {}
  field(std::string_view k, double v) : key(k), value(v) {}
  template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
  field(std::string_view k, I v) : key(k), value(static_cast<std::int64_t>(v)) {}

  std::string_view key;
  std::variant<std::string, std::int64_t, double, bool> value;
};

class logger {
 public:
  explicit logger(std::string service, level min_level = level::info, std::FILE* out = stderr);

  void log(level lvl, std::string_view msg, std::initializer_list<field> fields = {}) {
    log(lvl, msg, std::span<const field>(fields.begin(), fields.size()));
  }
  void log(level lvl, std::string_view msg, std::span<const field> fields);
  void debug(std::string_view msg, std::initializer_list<field> fields = {}) { log(level::debug, msg, fields); }
  void info(std::string_view msg, std::initializer_list<field> fields = {}) { log(level::info, msg, fields); }
  void warn(std::string_view msg, std::initializer_list<field> fields = {}) { log(level::warn, msg, fields); }
  void error(std::string_view msg, std::initializer_list<field> fields = {}) { log(level::error, msg, fields); }

  // For hot paths: logs at most one line per `key` per `interval`; the next line that gets through
  // carries "suppressed": N for the lines dropped in between.
  void rate_limited(level lvl, std::string_view key, std::chrono::milliseconds interval,
                    std::string_view msg, std::initializer_list<field> fields = {});

 private:
  void write_line(level lvl, std::string_view msg, std::span<const field> fields,
                  std::int64_t suppressed);

  struct limit_state {
    std::chrono::steady_clock::time_point last{};
    std::int64_t suppressed = 0;
  };

  std::string service_;
  level min_level_;
  std::FILE* out_;
  std::mutex mutex_;
  std::unordered_map<std::string, limit_state> limits_;
};

}  // namespace plumb::log
