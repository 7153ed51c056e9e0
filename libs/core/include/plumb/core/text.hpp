#pragma once
// ASCII text helpers shared by parsers of untrusted input (URLs, headers, ids). Locale-free on
// purpose: protocol text is ASCII, and std::tolower depends on the process locale.

#include <optional>
#include <string>
#include <string_view>

namespace plumb::core {

constexpr char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
std::string ascii_lower(std::string_view text);
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view text, std::string_view prefix);

// `text` without leading and trailing characters from `whitespace`.
std::string_view trim(std::string_view text, std::string_view whitespace = " \t\r\n\f\v");

// Value of one hexadecimal digit (either case), or -1 when `c` is not one.
constexpr int hex_digit_value(char c) {
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

// Decodes %XX escapes. Lenient: a broken escape is kept as sent (query strings from browsers).
std::string percent_decode(std::string_view text, bool plus_is_space);
// Strict: nullopt on a broken escape (credentials in a URL, where guessing would be wrong).
std::optional<std::string> percent_decode_strict(std::string_view text);

}  // namespace plumb::core
