#include "plumb/http/router.hpp"

#include "plumb/core/text.hpp"

#include <array>
#include <cstdint>
#include <string_view>

namespace plumb::http {
namespace {

// Methods in the order the Allow header lists them; verb::other has no name to advertise.
constexpr std::array<std::pair<verb, std::string_view>, 7> verb_names{{
    {verb::get, "GET"},
    {verb::head, "HEAD"},
    {verb::post, "POST"},
    {verb::put, "PUT"},
    {verb::patch, "PATCH"},
    {verb::delete_, "DELETE"},
    {verb::options, "OPTIONS"},
}};

bool is_prefix_pattern(std::string_view pattern) {
  return !pattern.empty() && pattern.back() == '*';
}

bool is_parameter(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// "/a/b/" -> {"a", "b", ""}; paths always start with '/'.
std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  path.remove_prefix(1);
  while (true) {
    const auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) {
      return out;
    }
    path.remove_prefix(slash + 1);
  }
}

// Walks a pattern with {name} segments over `path`; calls `bind(name, raw value)` per parameter.
// False when they do not match (segment counts differ, a literal differs, a value is empty).
template <typename Bind>
bool match_segments(std::string_view pattern, std::string_view path, Bind&& bind) {
  if (pattern.empty() || path.empty() || pattern.front() != '/' || path.front() != '/') {
    return false;
  }
  const auto wanted = segments(pattern);
  const auto got = segments(path);
  if (wanted.size() != got.size()) {
    return false;
  }
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    if (!is_parameter(wanted[i])) {
      if (wanted[i] != got[i]) {
        return false;
      }
    } else if (got[i].empty()) {
      return false;
    }
  }
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    if (is_parameter(wanted[i])) {
      bind(wanted[i].substr(1, wanted[i].size() - 2), got[i]);
    }
  }
  return true;
}

bool has_parameters(std::string_view pattern) {
  return pattern.find('{') != std::string_view::npos;
}

// How well `pattern` matches `path`: 0 for no match, otherwise a score where an exact match beats
// a parameterised one, which beats every prefix match; among prefixes the longer wins, among
// parameterised patterns the one with more literal text. This makes registration order
// irrelevant: "/static/special" wins over "/static/*" whichever was added first.
std::uint64_t match_score(std::string_view pattern, std::string_view path) {
  constexpr int class_shift = 32;
  if (is_prefix_pattern(pattern)) {
    const std::string_view prefix = pattern.substr(0, pattern.size() - 1);
    return path.substr(0, prefix.size()) == prefix ? (1ULL << class_shift) + prefix.size() : 0;
  }
  if (has_parameters(pattern)) {
    std::size_t parameter_chars = 0;
    const bool matched = match_segments(pattern, path, [&](std::string_view name, std::string_view) {
      parameter_chars += name.size() + 2;
    });
    return matched ? (2ULL << class_shift) + (pattern.size() - parameter_chars) : 0;
  }
  return pattern == path ? (3ULL << class_shift) : 0;
}

}  // namespace

std::optional<std::vector<std::pair<std::string, std::string>>> path_parameters(std::string_view pattern,
                                                                              std::string_view path) {
  std::vector<std::pair<std::string, std::string>> out;
  const bool matched = match_segments(pattern, path, [&out](std::string_view name, std::string_view raw) {
    out.emplace_back(std::string(name), core::percent_decode(raw, false));
  });
  if (!matched) {
    return std::nullopt;
  }
  return out;
}

router& router::add(verb method, std::string path, handler fn, dispatch where) {
  routes_.push_back(route{method, std::move(path), std::move(fn), where, async_handler{}});
  return *this;
}

router& router::add_async(verb method, std::string path, async_handler fn) {
  routes_.push_back(route{method, std::move(path), handler{}, dispatch::io, std::move(fn)});
  return *this;
}

const route* router::match(const request& req) const {
  const auto best_for = [&](verb method) -> const route* {
    const route* best = nullptr;
    std::uint64_t best_score = 0;
    for (const auto& r : routes_) {
      if (r.method != method) {
        continue;
      }
      const std::uint64_t score = match_score(r.path, req.path);
      if (score > best_score) {
        best = &r;
        best_score = score;
      }
    }
    return best;
  };
  const route* found = best_for(req.method);
  if (found == nullptr && req.method == verb::head) {
    // HEAD is GET without the body; the server drops the body and keeps Content-Length.
    found = best_for(verb::get);
  }
  return found;
}

response router::fallback_response(const request& req) const {
  std::array<bool, verb_names.size()> allowed{};
  bool path_known = false;
  for (const auto& r : routes_) {
    if (match_score(r.path, req.path) == 0) {
      continue;
    }
    path_known = true;
    for (std::size_t i = 0; i < verb_names.size(); ++i) {
      if (verb_names[i].first == r.method ||
          (verb_names[i].first == verb::head && r.method == verb::get)) {
        allowed[i] = true;
      }
    }
  }
  if (!path_known) {
    return response::errors(404, {{"path", "no such endpoint"}});
  }
  std::string allow;
  for (std::size_t i = 0; i < verb_names.size(); ++i) {
    if (allowed[i]) {
      if (!allow.empty()) {
        allow += ", ";
      }
      allow += verb_names[i].second;
    }
  }
  return response::errors(405, {{"method", "method not allowed"}}).with_header("Allow", allow);
}

}  // namespace plumb::http
