#include "json_body.hpp"

#include <charconv>
#include <limits>

namespace plumb::dashboard {
namespace {

[[noreturn]] void wrong_type(std::string_view field, std::string_view expected) {
  throw storage::invalid_input(std::string(field), std::string(field) + " must be " + std::string(expected));
}

}  // namespace

std::optional<std::string> optional_string(const json::value& body, std::string_view field) {
  const auto* v = body.find(field);
  if (v == nullptr || v->is_null()) {
    return std::nullopt;
  }
  if (!v->is_string()) {
    wrong_type(field, "a string");
  }
  return *v->as_string();
}

std::string required_string(const json::value& body, std::string_view field) {
  auto value = optional_string(body, field);
  if (!value) {
    throw storage::invalid_input(std::string(field), std::string(field) + " is required");
  }
  return std::move(*value);
}

std::optional<bool> optional_bool(const json::value& body, std::string_view field) {
  const auto* v = body.find(field);
  if (v == nullptr || v->is_null()) {
    return std::nullopt;
  }
  if (!v->as_bool()) {
    wrong_type(field, "true or false");
  }
  return v->as_bool();
}

std::optional<std::vector<std::string>> optional_string_list(const json::value& body, std::string_view field) {
  const auto* v = body.find(field);
  if (v == nullptr || v->is_null()) {
    return std::nullopt;
  }
  if (!v->is_array()) {
    wrong_type(field, "a list of strings");
  }
  std::vector<std::string> out;
  for (const auto& item : *v->as_array()) {
    if (!item.is_string()) {
      wrong_type(field, "a list of strings");
    }
    out.push_back(*item.as_string());
  }
  return out;
}

nullable_int optional_nullable_int(const json::value& body, std::string_view field) {
  const auto* v = body.find(field);
  if (v == nullptr) {
    return {};
  }
  if (v->is_null()) {
    return {true, std::nullopt};
  }
  const auto i = v->as_int();
  if (!i || *i < std::numeric_limits<int>::min() || *i > std::numeric_limits<int>::max()) {
    wrong_type(field, "a whole number or null");
  }
  return {true, static_cast<int>(*i)};
}

std::optional<std::int64_t> id_param(const request_context& ctx, std::string_view name) {
  const std::string text = ctx.path_param(name);
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc{} || end != text.data() + text.size() || id <= 0) {
    return std::nullopt;
  }
  return id;
}

}  // namespace plumb::dashboard
