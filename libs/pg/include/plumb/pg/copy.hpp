#pragma once
// Text formats PostgreSQL reads in bulk: COPY rows (for pqxx::stream_to::write_raw_line) and
// array literals (to bind a whole list as one parameter, e.g. `unnest($1::text[])`). Formatting
// rows ourselves skips libpqxx 6.4's per-field conversions, which dominate a COPY of thousands of
// rows. Values may hold any byte except NUL (PostgreSQL text cannot hold NUL; callers guarantee it).

#include <cstdint>
#include <pqxx/stream_to>
#include <span>
#include <string>
#include <string_view>

namespace plumb::pg {

// One row of COPY ... FROM STDIN in text format: fields separated by tabs, `\N` for NULL, and
// backslash, tab, newline and carriage return escaped.
class copy_row {
 public:
  copy_row& text(std::string_view value);
  copy_row& integer(std::int64_t value);
  copy_row& boolean(bool value);
  copy_row& null();
  // A field written verbatim: only for text known to need no escaping (formatted numbers, UUIDs,
  // timestamps, bigint array literals).
  copy_row& raw(std::string_view value);

  // The row without its line terminator, as write_raw_line wants it.
  const std::string& line() const { return line_; }
  void clear() {
    line_.clear();
    fields_ = 0;
  }

 private:
  void separate();
  std::string line_;
  std::size_t fields_ = 0;
};

// Sends a formatted row. libpqxx 6.4 keeps stream_to::write_raw_line private, so this goes
// through its tuple writer with a field type whose escaper passes the row through untouched.
void write_row(pqxx::stream_to& stream, const copy_row& row);

// "{...}" literal of a text[]: every element double-quoted, with `"` and `\` escaped.
std::string text_array(std::span<const std::string> values);
// "{1,2,3}" literal of a bigint[].
std::string bigint_array(std::span<const std::int64_t> values);
// The same into `out` (replacing its content), for loops that reuse one buffer.
void bigint_array(std::span<const std::int64_t> values, std::string& out);

}  // namespace plumb::pg
