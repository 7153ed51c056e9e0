#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plumb/http/message.hpp"

namespace plumb::http {

// Where a handler runs. I/O threads must never block: handlers that talk to PostgreSQL or do other
// blocking work are registered as `blocking` and run on the server's separate blocking pool.
enum class dispatch { io, blocking };

// Exactly one of `fn` and `async_fn` is set. Two members rather than a std::variant so code that
// reads `fn` of synchronous routes keeps working; async routes always run on the I/O strand.
struct route {
  verb method;
  // Exact match; a prefix when it ends in '*' ("/static/*"); or segments with parameters, each
  // "{name}" matching one non-empty segment ("/api/sites/{site}/goals/{goal}").
  std::string path;
  handler fn;
  dispatch where = dispatch::io;
  async_handler async_fn;
};

// The percent-decoded values of a pattern's "{name}" segments in `path`, in pattern order;
// nullopt when the path does not match the pattern.
std::optional<std::vector<std::pair<std::string, std::string>>> path_parameters(std::string_view pattern,
                                                                              std::string_view path);

// Maps (method, path) to a handler. Unknown path -> 404; known path, other method -> 405 with an
// Allow header; HEAD falls back to the GET handler with the body dropped.
class router {
 public:
  router& add(verb method, std::string path, handler fn, dispatch where = dispatch::io);
  // A route answered later through a responder (see `async_handler`); matched like any other.
  router& add_async(verb method, std::string path, async_handler fn);
  // The route for this request, or nullptr (then `fallback_response` gives the 404/405).
  const route* match(const request& req) const;
  response fallback_response(const request& req) const;
  // Every registered route, in registration order (authorization tests enumerate them).
  const std::vector<route>& routes() const { return routes_; }

 private:
  std::vector<route> routes_;
};

}  // namespace plumb::http
