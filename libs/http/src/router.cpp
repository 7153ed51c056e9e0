#include "plumb/http/router.hpp"

#include <array>
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

// How well `pattern` matches `path`: 0 for no match, otherwise a score where an exact match beats
// every prefix match and a longer prefix beats a shorter one. This makes registration order
// irrelevant: "/static/special" wins over "/static/*" whichever was added first.
std::size_t match_score(std::string_view pattern, std::string_view path) {
  if (is_prefix_pattern(pattern)) {
    const std::string_view prefix = pattern.substr(0, pattern.size() - 1);
    return path.substr(0, prefix.size()) == prefix ? prefix.size() + 1 : 0;
  }
  // Exact matches score above any possible prefix match of this path.
  return pattern == path ? path.size() + 2 : 0;
}

}  // namespace

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
    std::size_t best_score = 0;
    for (const auto& r : routes_) {
      if (r.method != method) {
        continue;
      }
      const std::size_t score = match_score(r.path, req.path);
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
