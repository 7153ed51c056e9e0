#include "plumb/json/writer.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <system_error>

namespace plumb::json {
namespace {

// U+FFFD REPLACEMENT CHARACTER, written in place of each invalid UTF-8 sequence.
constexpr std::string_view replacement = "\xEF\xBF\xBD";
constexpr std::string_view hex_digits = "0123456789abcdef";
// Enough for any int64/uint64/double from std::to_chars (shortest double form is <= 24 chars),
// plus the ".0" we may append.
constexpr std::size_t number_buffer_size = 32;

// Length of the well-formed UTF-8 sequence starting at text[pos], or 0 when it is not one.
// Follows Unicode's table of well-formed byte sequences (Table 3-7): no overlong forms, no
// surrogates (U+D800..U+DFFF), nothing above U+10FFFF. On 0 the caller replaces one byte and
// resynchronises on the next, so each bad byte becomes one U+FFFD.
std::size_t utf8_sequence_length(std::string_view text, std::size_t pos) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(pos);
  std::size_t length = 0;
  unsigned char second_min = 0x80;
  unsigned char second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) {
      second_min = 0xA0;  // below is overlong
    } else if (lead == 0xED) {
      second_max = 0x9F;  // above are surrogates
    }
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) {
      second_min = 0x90;  // below is overlong
    } else if (lead == 0xF4) {
      second_max = 0x8F;  // above is beyond U+10FFFF
    }
  } else {
    return 0;  // continuation byte, overlong lead (C0, C1) or F5..FF
  }
  if (text.size() - pos < length) {
    return 0;
  }
  if (byte(pos + 1) < second_min || byte(pos + 1) > second_max) {
    return 0;
  }
  for (std::size_t i = 2; i < length; ++i) {
    if (byte(pos + i) < 0x80 || byte(pos + i) > 0xBF) {
      return 0;
    }
  }
  return length;
}

// Appends `text` as a quoted JSON string (RFC 8259 section 7).
void append_quoted(std::string& out, std::string_view text) {
  out.reserve(out.size() + text.size() + 2);
  out.push_back('"');
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto c = static_cast<unsigned char>(text[pos]);
    if (c >= 0x80) {
      const std::size_t length = utf8_sequence_length(text, pos);
      if (length == 0) {
        out.append(replacement);
        ++pos;
      } else {
        out.append(text.substr(pos, length));
        pos += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (c < 0x20) {
          // Other control characters have no short form.
          out.append("\\u00");
          out.push_back(hex_digits[c >> 4]);
          out.push_back(hex_digits[c & 0x0F]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++pos;
  }
  out.push_back('"');
}

template <class Number>
void append_number(std::string& out, Number n) {
  std::array<char, number_buffer_size> buffer{};
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), n);
  if (ec != std::errc()) {
    throw std::logic_error("json::writer: number buffer too small");  // cannot happen: see size
  }
  out.append(buffer.data(), end);
}

}  // namespace

void writer::before_value() {
  if (after_key_) {
    after_key_ = false;  // the key already wrote its comma
    return;
  }
  if (!first_in_scope_.empty()) {
    if (!first_in_scope_.back()) {
      out_.push_back(',');
    }
    first_in_scope_.back() = false;
  }
}

writer& writer::begin_object() {
  before_value();
  out_.push_back('{');
  first_in_scope_.push_back(true);
  return *this;
}

writer& writer::end_object() {
  if (first_in_scope_.empty() || after_key_) {
    throw std::logic_error("json::writer: end_object without an open object or after a key");
  }
  first_in_scope_.pop_back();
  out_.push_back('}');
  return *this;
}

writer& writer::begin_array() {
  before_value();
  out_.push_back('[');
  first_in_scope_.push_back(true);
  return *this;
}

writer& writer::end_array() {
  if (first_in_scope_.empty() || after_key_) {
    throw std::logic_error("json::writer: end_array without an open array or after a key");
  }
  first_in_scope_.pop_back();
  out_.push_back(']');
  return *this;
}

writer& writer::key(std::string_view k) {
  if (first_in_scope_.empty() || after_key_) {
    throw std::logic_error("json::writer: key at top level or right after another key");
  }
  before_value();
  append_quoted(out_, k);
  out_.push_back(':');
  after_key_ = true;
  return *this;
}

writer& writer::value(std::string_view s) {
  before_value();
  append_quoted(out_, s);
  return *this;
}

writer& writer::value(std::int64_t i) {
  before_value();
  append_number(out_, i);
  return *this;
}

writer& writer::value(std::uint64_t u) {
  before_value();
  append_number(out_, u);
  return *this;
}

writer& writer::value(double d) {
  if (!std::isfinite(d)) {
    return null();  // JSON has no NaN or Infinity
  }
  before_value();
  const std::size_t start = out_.size();
  // Shortest form that reads back as the same double.
  append_number(out_, d);
  // Keep a whole double a double when parsed back ("3" would come back as an integer).
  if (out_.find_first_of(".eE", start) == std::string::npos) {
    out_.append(".0");
  }
  return *this;
}

writer& writer::value(bool b) {
  before_value();
  out_.append(b ? "true" : "false");
  return *this;
}

writer& writer::null() {
  before_value();
  out_.append("null");
  return *this;
}

writer& writer::raw(std::string_view json) {
  before_value();
  out_.append(json);
  return *this;
}

std::string quote(std::string_view text) {
  std::string out;
  append_quoted(out, text);
  return out;
}

}  // namespace plumb::json
