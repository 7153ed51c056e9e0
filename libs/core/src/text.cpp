#include "plumb/core/text.hpp"

namespace plumb::core {
namespace {

// Shared loop of both decoders; `strict` turns a broken escape into nullopt.
std::optional<std::string> decode(std::string_view text, bool plus_is_space, bool strict) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+' && plus_is_space) {
      out += ' ';
      continue;
    }
    if (c != '%') {
      out += c;
      continue;
    }
    const int high = i + 2 < text.size() ? hex_digit_value(text[i + 1]) : -1;
    const int low = i + 2 < text.size() ? hex_digit_value(text[i + 2]) : -1;
    if (high < 0 || low < 0) {
      if (strict) {
        return std::nullopt;
      }
      out += c;
      continue;
    }
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

}  // namespace

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    c = ascii_lower(c);
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && istarts_with(a, b);
}

bool istarts_with(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) {
    return false;
  }
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (ascii_lower(text[i]) != ascii_lower(prefix[i])) {
      return false;
    }
  }
  return true;
}

std::string_view trim(std::string_view text, std::string_view whitespace) {
  const auto first = text.find_first_not_of(whitespace);
  if (first == std::string_view::npos) {
    return {};
  }
  return text.substr(first, text.find_last_not_of(whitespace) - first + 1);
}

std::string percent_decode(std::string_view text, bool plus_is_space) {
  return *decode(text, plus_is_space, false);
}

std::optional<std::string> percent_decode_strict(std::string_view text) {
  return decode(text, false, true);
}

}  // namespace plumb::core
