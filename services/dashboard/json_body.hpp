#pragma once
// JSON bodies in and out. Reading a field of the wrong type throws
// storage::invalid_input(field, message), which the gate (authz.cpp) answers with 400.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authz.hpp"
#include "plumb/json/value.hpp"
#include "plumb/json/writer.hpp"

namespace plumb::dashboard {

// A string field; required_string also refuses a missing one.
std::string required_string(const json::value& body, std::string_view field);
std::optional<std::string> optional_string(const json::value& body, std::string_view field);
std::optional<bool> optional_bool(const json::value& body, std::string_view field);
std::optional<std::vector<std::string>> optional_string_list(const json::value& body, std::string_view field);
// A field that may be absent, null or a whole number.
struct nullable_int {
  bool present = false;
  std::optional<int> value;  // nullopt for null
};
nullable_int optional_nullable_int(const json::value& body, std::string_view field);

// 200 with {"<name>": [items, each written by write(writer, item)]}.
template <typename Item, typename Write>
http::response list_response(std::string_view name, const std::vector<Item>& items, Write write) {
  json::writer w;
  w.begin_object().key(name).begin_array();
  for (const auto& item : items) {
    write(w, item);
  }
  w.end_array().end_object();
  return http::response::json(200, std::move(w).str());
}

// A numeric {name} path parameter, or nullopt when it is not a positive integer.
std::optional<std::int64_t> id_param(const request_context& ctx, std::string_view name);

}  // namespace plumb::dashboard
