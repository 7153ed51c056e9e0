#pragma once
// Plumb's own request/response types: handlers are pure functions from request to response, and
// no Beast type leaks out of libs/http.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace plumb::http {

enum class verb { get, head, post, put, patch, delete_, options, other };

struct header {
  std::string name;
  std::string value;
};

struct request {
  verb method = verb::get;
  std::string target;   // raw request target, e.g. "/api/event?x=1"
  std::string path;     // target up to '?', not percent-decoded
  std::string query;    // target after '?', raw
  std::vector<header> headers;
  std::string body;
  std::string peer_address;  // socket peer IP in text form (v4 or v6)

  // Value of the first header with this name (case-insensitive), if any.
  std::optional<std::string_view> header_value(std::string_view name) const;
};

struct response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::vector<header> headers;
  std::string body;

  static response json(unsigned status, std::string body);
  static response text(unsigned status, std::string body, std::string content_type = "text/plain; charset=utf-8");
  // `{"errors":{field: message, ...}}` — the one error shape of every Plumb API.
  static response errors(unsigned status, const std::vector<std::pair<std::string, std::string>>& field_messages);
  response& with_header(std::string name, std::string value);
};

using handler = std::function<response(const request&)>;

// Decoded key/value pairs of a query string or form body ('+' means space). Invalid percent
// escapes are kept literally, never rejected: callers validate values they care about.
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query);

}  // namespace plumb::http
