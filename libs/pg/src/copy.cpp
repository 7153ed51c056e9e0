#include "plumb/pg/copy.hpp"

#include <charconv>
#include <tuple>

namespace plumb::pg {
namespace {
// A whole COPY line, already escaped by copy_row.
struct formatted_line {
  const std::string* text;
};
}  // namespace
}  // namespace plumb::pg

// stream_to's tuple writer escapes each field with TypedCopyEscaper; a formatted_line is the
// whole row, already escaped, so it passes through as is.
template <>
inline std::string pqxx::internal::TypedCopyEscaper::operator()<plumb::pg::formatted_line>(
    const plumb::pg::formatted_line* line) const {
  return *line->text;
}

namespace plumb::pg {

void write_row(pqxx::stream_to& stream, const copy_row& row) {
  stream << std::make_tuple(formatted_line{&row.line()});
}

void copy_row::separate() {
  if (fields_++ > 0) {
    line_ += '\t';
  }
}

copy_row& copy_row::text(std::string_view value) {
  separate();
  for (const char c : value) {
    switch (c) {
      case '\\': line_ += "\\\\"; break;
      case '\t': line_ += "\\t"; break;
      case '\n': line_ += "\\n"; break;
      case '\r': line_ += "\\r"; break;
      default: line_ += c;
    }
  }
  return *this;
}

copy_row& copy_row::integer(std::int64_t value) { return raw(std::to_string(value)); }

copy_row& copy_row::boolean(bool value) { return raw(value ? "t" : "f"); }

copy_row& copy_row::null() { return raw("\\N"); }

copy_row& copy_row::raw(std::string_view value) {
  separate();
  line_ += value;
  return *this;
}

std::string text_array(std::span<const std::string> values) {
  std::string out = "{";
  for (const auto& v : values) {
    if (out.size() > 1) {
      out += ',';
    }
    out += '"';
    for (const char c : v) {
      if (c == '"' || c == '\\') {
        out += '\\';
      }
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::string bigint_array(std::span<const std::int64_t> values) {
  std::string out;
  bigint_array(values, out);
  return out;
}

void bigint_array(std::span<const std::int64_t> values, std::string& out) {
  out.assign(1, '{');
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) {
      out.push_back(',');
    }
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, values[i]).ptr;
    out.append(digits, end);
  }
  out.push_back('}');
}

}  // namespace plumb::pg
