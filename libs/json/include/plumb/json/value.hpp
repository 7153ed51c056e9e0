#pragma once
// JSON reading: simdjson parses (and validates UTF-8); the result is copied into a small owned
// tree so no simdjson type leaves libs/json. Inputs Plumb reads are small (request bodies, config),
// so the copy is cheap next to the safety of owning the data.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "plumb/core/expected.hpp"

namespace plumb::json {

class value;
using array = std::vector<value>;
// Keys keep document order; duplicate keys keep the first occurrence for find().
using object = std::vector<std::pair<std::string, value>>;

// kind's enumerators `array` and `object` share names with the aliases above; GCC 12's -Wshadow
// flags that in every includer, although scoped enumerators cannot hide them.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
class value {
 public:
  enum class kind { null, boolean, integer, number, string, array, object };

  value() = default;
  explicit value(bool b) : data_(b) {}
  explicit value(std::int64_t i) : data_(i) {}
  explicit value(double d) : data_(d) {}
  explicit value(std::string s) : data_(std::move(s)) {}
  explicit value(json::array a) : data_(std::make_shared<json::array>(std::move(a))) {}
  explicit value(json::object o) : data_(std::make_shared<json::object>(std::move(o))) {}

  kind type() const { return static_cast<kind>(data_.index()); }
  bool is_null() const { return type() == kind::null; }
  bool is_string() const { return type() == kind::string; }
  bool is_object() const { return type() == kind::object; }
  bool is_array() const { return type() == kind::array; }
  // integer or number
  bool is_number() const { return type() == kind::integer || type() == kind::number; }

  // Typed accessors: nullopt / nullptr when the value has another type.
  std::optional<bool> as_bool() const;
  std::optional<std::int64_t> as_int() const;      // integers, and doubles with no fraction
  std::optional<double> as_double() const;         // any number
  const std::string* as_string() const;
  const json::array* as_array() const;
  const json::object* as_object() const;

  // Member lookup on objects; nullptr if not an object or no such key.
  const value* find(std::string_view key) const;

 private:
  std::variant<std::monostate, bool, std::int64_t, double, std::string,
               std::shared_ptr<const json::array>, std::shared_ptr<const json::object>>
      data_;
};
#pragma GCC diagnostic pop

// Why a document was rejected, short and stable enough to show to API clients.
struct parse_error {
  std::string message;
};

// Parses one complete JSON document. Rejects invalid JSON, invalid UTF-8, trailing content, and
// nesting deeper than `max_depth`. Numbers that fit int64 become integers, others doubles.
expected<value, parse_error> parse(std::string_view text, std::size_t max_depth = 32);

// True when `text` is valid UTF-8 (simdjson's validator).
bool valid_utf8(std::string_view text);

}  // namespace plumb::json
