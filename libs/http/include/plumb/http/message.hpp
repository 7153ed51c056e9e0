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

// A body produced piece by piece (exports): each call appends the next piece to `out` (possibly
// nothing) and returns false after the last one. Calls run one at a time on the blocking pool, the
// next only after the previous piece was written, so memory stays bounded by one piece whatever
// the body's size. Throwing ends the response early: the connection is closed and the client sees
// an incomplete body (the status line was already sent).
using body_stream = std::function<bool(std::string& out)>;

struct response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::vector<header> headers;
  std::string body;
  // When set, the body is this stream (chunked transfer encoding; `body` is ignored).
  body_stream stream;

  static response json(unsigned status, std::string body);
  static response text(unsigned status, std::string body, std::string content_type = "text/plain; charset=utf-8");
  static response streamed(unsigned status, std::string content_type, body_stream body);
  // `{"errors":{field: message, ...}}` — the one error shape of every Plumb API.
  static response errors(unsigned status, const std::vector<std::pair<std::string, std::string>>& field_messages);
  response& with_header(std::string name, std::string value);
  // Value of the first header with this name (case-insensitive), if any.
  std::optional<std::string_view> header_value(std::string_view name) const;
};

using handler = std::function<response(const request&)>;

// Completes one asynchronous request, exactly once, from any thread: `std::move(done)(res)`.
// The response is then written like a synchronous handler's (same validation, default headers,
// HEAD and keep-alive handling). Move-only; a responder that was moved from or already called
// does nothing. Destroyed without being called (e.g. its producer shut down), it answers 503
// {"errors":{"server":"request was not completed"}}. A call after the connection closed, after
// server_options::async_timeout or after the server stopped is ignored.
class responder {
 public:
  // Passes the response to `complete`; libs/http builds these, and tests of async handlers can
  // too. `complete` must not throw: it also runs from the destructor.
  explicit responder(std::function<void(response)> complete);
  responder(responder&& other) noexcept;
  responder& operator=(responder&& other) noexcept;
  responder(const responder&) = delete;
  responder& operator=(const responder&) = delete;
  ~responder();

  void operator()(response res) &&;

 private:
  std::function<void(response)> complete_;
};

// Runs on the connection's strand and must not block: it hands `done` to whoever produces the
// response (typically enqueues work) and returns. `req` is valid only during the call. Throwing
// before returning answers 500 (and calls on_handler_error) whatever happens to `done`.
using async_handler = std::function<void(const request&, responder done)>;

// Decoded key/value pairs of a query string or form body ('+' means space). Invalid percent
// escapes are kept literally, never rejected: callers validate values they care about.
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query);

}  // namespace plumb::http
