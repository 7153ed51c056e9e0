#include "plumb/json/value.hpp"

#include <cmath>

namespace plumb::json {
namespace {

// 2^63 as a double: the first value above the int64 range (INT64_MAX itself is not representable).
constexpr double int64_limit = 9223372036854775808.0;

}  // namespace

std::optional<bool> value::as_bool() const {
  if (const auto* b = std::get_if<bool>(&data_)) {
    return *b;
  }
  return std::nullopt;
}

std::optional<std::int64_t> value::as_int() const {
  if (const auto* i = std::get_if<std::int64_t>(&data_)) {
    return *i;
  }
  if (const auto* d = std::get_if<double>(&data_)) {
    // Only whole numbers inside the int64 range convert; NaN fails every comparison.
    if (*d >= -int64_limit && *d < int64_limit && std::trunc(*d) == *d) {
      return static_cast<std::int64_t>(*d);
    }
  }
  return std::nullopt;
}

std::optional<double> value::as_double() const {
  if (const auto* d = std::get_if<double>(&data_)) {
    return *d;
  }
  if (const auto* i = std::get_if<std::int64_t>(&data_)) {
    return static_cast<double>(*i);
  }
  return std::nullopt;
}

const std::string* value::as_string() const {
  return std::get_if<std::string>(&data_);
}

const json::array* value::as_array() const {
  if (const auto* a = std::get_if<std::shared_ptr<const json::array>>(&data_)) {
    return a->get();
  }
  return nullptr;
}

const json::object* value::as_object() const {
  if (const auto* o = std::get_if<std::shared_ptr<const json::object>>(&data_)) {
    return o->get();
  }
  return nullptr;
}

const value* value::find(std::string_view key) const {
  const json::object* members = as_object();
  if (members == nullptr) {
    return nullptr;
  }
  // Linear scan: objects Plumb reads are small, and the first duplicate must win.
  for (const auto& [name, member] : *members) {
    if (name == key) {
      return &member;
    }
  }
  return nullptr;
}

}  // namespace plumb::json
