#include "session.hpp"

#include <algorithm>
#include <exception>
#include <string_view>

#include "plumb/core/text.hpp"

namespace plumb::http::detail {
namespace {

// Statuses a handler may return; anything else is a handler bug and becomes a 500.
constexpr unsigned min_status = 100;
constexpr unsigned max_status = 599;

verb to_verb(bhttp::verb method) {
  switch (method) {
    case bhttp::verb::get:
      return verb::get;
    case bhttp::verb::head:
      return verb::head;
    case bhttp::verb::post:
      return verb::post;
    case bhttp::verb::put:
      return verb::put;
    case bhttp::verb::patch:
      return verb::patch;
    case bhttp::verb::delete_:
      return verb::delete_;
    case bhttp::verb::options:
      return verb::options;
    default:
      return verb::other;
  }
}

bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  return std::string_view{"!#$%&'*+-.^_`|~"}.find(c) != std::string_view::npos;
}

}  // namespace

bool valid_header_name(std::string_view name) {
  if (name.empty()) {
    return false;
  }
  for (char c : name) {
    if (!is_token_char(c)) {
      return false;
    }
  }
  return true;
}

bool valid_header_value(std::string_view value) {
  return value.find_first_of(std::string_view{"\r\n\0", 3}) == std::string_view::npos;
}

namespace {

// Why `res` cannot be sent, or empty when it can.
std::string invalid_reason(const response& res) {
  if (res.status < min_status || res.status > max_status) {
    return "handler returned invalid status " + std::to_string(res.status);
  }
  if (!valid_header_value(res.content_type)) {
    return "handler returned an invalid content type";
  }
  for (const auto& h : res.headers) {
    if (!valid_header_name(h.name) || !valid_header_value(h.value)) {
      return "handler returned an invalid header";
    }
  }
  return {};
}

response internal_error(const server_options& options, std::string_view what) {
  if (options.on_handler_error) {
    options.on_handler_error(what);
  }
  return response::errors(500, {{"server", "internal error"}});
}

// Framing headers belong to the server: a handler's Content-Length or Connection could make the
// client misread where this response ends.
bool server_managed(std::string_view name) {
  const bhttp::field f = bhttp::string_to_field(name);
  return f == bhttp::field::content_length || f == bhttp::field::transfer_encoding ||
         f == bhttp::field::connection;
}

}  // namespace

void request_tracker::begin() {
  active_.fetch_add(1, std::memory_order_relaxed);
}

void request_tracker::end() {
  if (active_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    // Under the mutex, so a waiter between its check of the count and its wait cannot miss it.
    const std::lock_guard lock(mutex_);
    idle_.notify_all();
  }
}

bool request_tracker::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return idle_.wait_for(lock, timeout,
                        [this] { return active_.load(std::memory_order_acquire) == 0; });
}

request to_request(beast_request&& req, const std::string& peer_address) {
  request out;
  out.method = to_verb(req.method());
  out.target = std::string(req.target());
  const std::size_t question = out.target.find('?');
  if (question == std::string::npos) {
    out.path = out.target;
  } else {
    out.path = out.target.substr(0, question);
    out.query = out.target.substr(question + 1);
  }
  for (const auto& f : req) {
    out.headers.push_back(header{std::string(f.name_string()), std::string(f.value())});
  }
  out.body = std::move(req.body());
  out.peer_address = peer_address;
  return out;
}

response checked_response(response res, const server_options& options) {
  if (std::string reason = invalid_reason(res); !reason.empty()) {
    return internal_error(options, reason);
  }
  return res;
}

response async_timeout_response() {
  return response::errors(503, {{"server", "request timed out"}});
}

response invoke_handler(const route& r, const request& req, const server_options& options) {
  try {
    return checked_response(r.fn(req), options);
  } catch (const std::exception& e) {
    return internal_error(options, e.what());
  } catch (...) {
    // Not a std::exception, so there is no message; still one boundary, still reported.
    return internal_error(options, "handler threw a non-standard exception");
  }
}

std::optional<response> invoke_async_handler(const route& r, const request& req, responder done,
                                             const server_options& options) {
  try {
    r.async_fn(req, std::move(done));
    return std::nullopt;
  } catch (const std::exception& e) {
    return internal_error(options, e.what());
  } catch (...) {
    return internal_error(options, "handler threw a non-standard exception");
  }
}

std::optional<response> parse_error_response(const beast::error_code& ec,
                                             const server_options& options) {
  if (ec == bhttp::error::body_limit) {
    return response::errors(
        413, {{"body", "request body exceeds " + std::to_string(options.body_limit) + " bytes"}});
  }
  if (ec == bhttp::error::header_limit) {
    return response::errors(
        431,
        {{"headers", "request headers exceed " + std::to_string(options.header_limit) + " bytes"}});
  }
  // A peer that stopped sending mid-message, or at a message boundary, gets no answer.
  if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message) {
    return std::nullopt;
  }
  // Every other HTTP parse error means the bytes were not a valid request.
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) {
    return response::errors(400, {{"request", "malformed request"}});
  }
  return std::nullopt;
}

std::string serialize_response(response&& res, const server_options& options, bool head,
                               unsigned version, bool keep_alive) {
  // No body and no Content-Length for informational, 204 and 304 responses (RFC 9110 8.6, 15.3.5).
  const bool bodyless = res.status < 200 || res.status == 204 || res.status == 304;
  std::string out;
  out.reserve(256 + (head || bodyless ? 0 : res.body.size()));
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += std::to_string(res.status);
  out += ' ';
  out += bhttp::obsolete_reason(bhttp::int_to_status(res.status));
  out += "\r\n";
  auto add = [&out](std::string_view name, std::string_view value) {
    out.append(name).append(": ").append(value).append("\r\n");
  };
  auto has = [&res](std::string_view name) {
    return std::any_of(res.headers.begin(), res.headers.end(),
                       [name](const header& h) { return core::iequals(h.name, name); });
  };
  if (!res.content_type.empty()) {
    add("Content-Type", res.content_type);
  }
  for (const auto& h : res.headers) {
    // The server frames the message itself; the content_type member wins over a header.
    if (server_managed(h.name) || (!res.content_type.empty() && core::iequals(h.name, "content-type"))) {
      continue;
    }
    add(h.name, h.value);
  }
  for (const auto& h : options.default_headers) {
    if (!has(h.name) && !(core::iequals(h.name, "content-type") && !res.content_type.empty())) {
      add(h.name, h.value);
    }
  }
  if (!has("server")) {
    add("Server", "plumb");
  }
  if (version == 10 && keep_alive) {
    add("Connection", "keep-alive");
  } else if (version != 10 && !keep_alive) {
    add("Connection", "close");
  }
  if (!bodyless && res.stream) {
    // HTTP/1.0 has no chunked encoding: the body ends when the connection closes.
    if (version != 10) {
      add("Transfer-Encoding", "chunked");
    }
  } else if (!bodyless) {
    // Set explicitly so HEAD announces the GET body's length.
    add("Content-Length", std::to_string(res.body.size()));
  }
  out += "\r\n";
  if (!head && !bodyless && !res.stream) {
    out += res.body;
  }
  return out;
}

}  // namespace plumb::http::detail
