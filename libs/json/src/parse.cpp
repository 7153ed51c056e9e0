// parse() and valid_utf8(): the only place simdjson is used. simdjson validates the whole document
// (structure, UTF-8, escapes, trailing content) before we copy anything out of it.

#include <simdjson.h>

#include <new>

#include "plumb/json/value.hpp"

namespace plumb::json {
namespace {

namespace dom = simdjson::dom;

// Stable messages: API clients may see them, tests compare them.
constexpr const char* invalid_json = "invalid JSON";
constexpr const char* invalid_utf8 = "invalid UTF-8";
constexpr const char* invalid_number = "invalid number";
constexpr const char* invalid_string = "invalid string";
constexpr const char* empty_document = "empty document";
constexpr const char* too_deep = "nesting too deep";
constexpr const char* too_large = "document too large";

parse_error error_for(simdjson::error_code code) {
  switch (code) {
    case simdjson::UTF8_ERROR:
      return {invalid_utf8};
    case simdjson::DEPTH_ERROR:
      return {too_deep};
    case simdjson::EMPTY:
      return {empty_document};
    // simdjson 3.0 also rejects integers outside [INT64_MIN, UINT64_MAX] and doubles that
    // overflow (1e400) here, not only malformed numbers.
    case simdjson::NUMBER_ERROR:
    case simdjson::NUMBER_OUT_OF_RANGE:
      return {invalid_number};
    case simdjson::STRING_ERROR:
    case simdjson::UNESCAPED_CHARS:
    case simdjson::UNCLOSED_STRING:
      return {invalid_string};
    case simdjson::CAPACITY:
      return {too_large};
    case simdjson::MEMALLOC:
      // Not the client's fault: an infrastructure failure, so it throws like any allocation.
      throw std::bad_alloc();
    default:
      return {invalid_json};
  }
}

// Copies `in` into `out`. `depth` counts the containers enclosing `in`; returns false when a
// container would sit deeper than `max_depth` (the caller reports "nesting too deep").
// Recursion is bounded by max_depth, and by simdjson's own limit (1024) before that.
bool copy_element(dom::element in, std::size_t depth, std::size_t max_depth, value& out) {
  // The element's type was checked by the switch, so the typed getters cannot fail:
  // value_unsafe() skips a second check.
  switch (in.type()) {
    case dom::element_type::NULL_VALUE:
      out = value();
      return true;
    case dom::element_type::BOOL:
      out = value(in.get_bool().value_unsafe());
      return true;
    case dom::element_type::INT64:
      out = value(in.get_int64().value_unsafe());
      return true;
    case dom::element_type::UINT64:
      // Above INT64_MAX: kept as the nearest double rather than rejected.
      out = value(static_cast<double>(in.get_uint64().value_unsafe()));
      return true;
    case dom::element_type::DOUBLE:
      out = value(in.get_double().value_unsafe());
      return true;
    case dom::element_type::STRING:
      out = value(std::string(in.get_string().value_unsafe()));
      return true;
    case dom::element_type::ARRAY: {
      if (depth >= max_depth) {
        return false;
      }
      dom::array items = in.get_array().value_unsafe();
      json::array copied;
      copied.reserve(items.size());
      for (dom::element item : items) {
        if (!copy_element(item, depth + 1, max_depth, copied.emplace_back())) {
          return false;
        }
      }
      out = value(std::move(copied));
      return true;
    }
    case dom::element_type::OBJECT: {
      if (depth >= max_depth) {
        return false;
      }
      dom::object members = in.get_object().value_unsafe();
      json::object copied;
      copied.reserve(members.size());
      for (dom::key_value_pair member : members) {
        auto& [name, member_value] = copied.emplace_back(std::string(member.key), value());
        if (!copy_element(member.value, depth + 1, max_depth, member_value)) {
          return false;
        }
      }
      out = value(std::move(copied));
      return true;
    }
  }
  return false;  // unreachable: every element_type is handled above
}

}  // namespace

expected<value, parse_error> parse(std::string_view text, std::size_t max_depth) {
  // One parser per thread: simdjson reuses its buffers across documents, which is most of its
  // speed. It keeps the capacity of the largest document seen, bounded by the callers' body limits.
  thread_local dom::parser parser;
  // simdjson reads up to SIMDJSON_PADDING bytes past the end; the padded copy makes that safe.
  const simdjson::padded_string padded(text.data(), text.size());
  dom::element root;
  if (const simdjson::error_code code = parser.parse(padded).get(root); code != simdjson::SUCCESS) {
    return unexpected(error_for(code));
  }
  value out;
  if (!copy_element(root, 0, max_depth, out)) {
    return unexpected(parse_error{too_deep});
  }
  return out;
}

bool valid_utf8(std::string_view text) {
  return simdjson::validate_utf8(text.data(), text.size());
}

}  // namespace plumb::json
