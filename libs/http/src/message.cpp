#include "plumb/http/message.hpp"

#include <cstddef>
#include <string>

namespace plumb::http {
namespace {

char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) {
      return false;
    }
  }
  return true;
}

// Value of one hex digit, or -1 when `c` is not one.
int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// Appends `text` as the inside of a JSON string. Kept local so libs/http does not depend on
// libs/json; bytes >= 0x80 pass through, so valid UTF-8 stays valid UTF-8.
void append_json_string(std::string& out, std::string_view text) {
  static constexpr char hex_digits[] = "0123456789abcdef";
  out += '"';
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default: {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20) {
          out += "\\u00";
          out += hex_digits[byte >> 4U];
          out += hex_digits[byte & 0x0FU];
        } else {
          out += c;
        }
      }
    }
  }
  out += '"';
}

}  // namespace

std::optional<std::string_view> request::header_value(std::string_view name) const {
  for (const auto& h : headers) {
    if (iequals(h.name, name)) {
      return std::string_view{h.value};
    }
  }
  return std::nullopt;
}

response response::json(unsigned status, std::string body) {
  response res;
  res.status = status;
  res.content_type = "application/json";
  res.body = std::move(body);
  return res;
}

response response::text(unsigned status, std::string body, std::string content_type) {
  response res;
  res.status = status;
  res.content_type = std::move(content_type);
  res.body = std::move(body);
  return res;
}

response response::errors(unsigned status,
                          const std::vector<std::pair<std::string, std::string>>& field_messages) {
  std::string body = R"({"errors":{)";
  bool first = true;
  for (const auto& [field, message] : field_messages) {
    if (!first) {
      body += ',';
    }
    first = false;
    append_json_string(body, field);
    body += ':';
    append_json_string(body, message);
  }
  body += "}}";
  return json(status, std::move(body));
}

response& response::with_header(std::string name, std::string value) {
  headers.push_back(header{std::move(name), std::move(value)});
  return *this;
}

std::string percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+' && plus_is_space) {
      out += ' ';
    } else if (c == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
               hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      // Not an escape (or a broken one): keep the byte as sent.
      out += c;
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) {
      continue;  // "a=1&&b=2" and a trailing '&' carry no pair
    }
    const std::size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      out.emplace_back(percent_decode(part, true), std::string{});
    } else {
      out.emplace_back(percent_decode(part.substr(0, eq), true),
                       percent_decode(part.substr(eq + 1), true));
    }
  }
  return out;
}

}  // namespace plumb::http
