#pragma once
// A synchronous Redis client (hiredis 0.14) for the worker loop and background threads; never
// call it from an HTTP I/O thread. Replies are copied into `reply` so no hiredis type leaks.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "plumb/core/expected.hpp"
#include "plumb/core/pool.hpp"

namespace plumb::redis {

// Connection failure, I/O error or timeout. After one, the connection is broken(): discard it.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct endpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  int database = 0;
  std::optional<std::string> password;

  // Parses "redis://[:password@]host[:port][/db]"; the error says which part is wrong.
  static expected<endpoint, std::string> parse_url(std::string_view url);
};

struct reply {
  enum class kind { nil, integer, string, status, error, array };
  kind type = kind::nil;
  std::int64_t integer = 0;
  std::string str;  // string, status and error replies
  std::vector<reply> elements;

  bool is_nil() const { return type == kind::nil; }
  bool is_error() const { return type == kind::error; }
};

struct timeouts {
  std::chrono::milliseconds connect{2'000};
  std::chrono::milliseconds command{2'000};
};

class connection {
 public:
  // Connects, authenticates and selects the database; throws redis::error.
  connection(const endpoint& where, timeouts limits = {});
  ~connection();
  connection(connection&&) noexcept;
  connection& operator=(connection&&) noexcept;
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // Runs one command (binary-safe arguments). Redis error replies are returned as kind::error;
  // I/O failures and timeouts throw redis::error.
  reply command(const std::vector<std::string_view>& args);
  reply command(std::initializer_list<std::string_view> args) {
    return command(std::vector<std::string_view>(args));
  }
  // Sends every command in one write and reads all replies, in order (pipelining).
  std::vector<reply> pipeline(const std::vector<std::vector<std::string>>& commands);
  // The same for commands already in Redis protocol form (built with append_command): the
  // cheapest way to send large batches, as nothing is copied or reformatted per argument.
  std::vector<reply> pipeline_formatted(std::string_view protocol, std::size_t command_count);
  // The same, appending replies to `replies` as they arrive: after a throw, `replies` holds the
  // replies read before the failure (the commands behind them were executed).
  void pipeline_formatted(std::string_view protocol, std::size_t command_count,
                          std::vector<reply>& replies);

  // True after an I/O error or timeout; such a connection must not be reused.
  bool broken() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// Connections for threads that take turns (the dashboard's blocking pool); a connection that
// broke is discarded. acquire() throws std::runtime_error or redis::error.
class pool : public core::pool<connection> {
 public:
  pool(endpoint where, std::size_t size, timeouts limits = {});
};

// Deletes every key starting with `prefix` (SCAN in steps, UNLINK per step, so a large family
// never blocks Redis for long); returns how many were deleted. Throws redis::error on failure.
std::size_t delete_prefixed(connection& conn, std::string_view prefix);

// Appends one command in Redis protocol form (RESP array of bulk strings) to `out`.
void append_command(std::string& out, std::span<const std::string_view> args);
// Its two parts, for callers that stream arguments: "*<count>\r\n" and "$<len>\r\n<value>\r\n".
void append_array_header(std::string& out, std::size_t count);
void append_bulk_string(std::string& out, std::string_view value);

}  // namespace plumb::redis
