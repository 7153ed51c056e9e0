#include "plumb/http/message.hpp"

#include <cstddef>
#include <string>
#include <utility>

#include "plumb/core/text.hpp"
#include "plumb/json/writer.hpp"

namespace plumb::http {

namespace {
std::optional<std::string_view> first_header(const std::vector<header>& headers,
                                             std::string_view name) {
  for (const auto& h : headers) {
    if (core::iequals(h.name, name)) {
      return std::string_view{h.value};
    }
  }
  return std::nullopt;
}
}  // namespace

std::optional<std::string_view> request::header_value(std::string_view name) const {
  return first_header(headers, name);
}

std::optional<std::string_view> response::header_value(std::string_view name) const {
  return first_header(headers, name);
}

response response::json(unsigned status, std::string body) {
  response res;
  res.status = status;
  res.content_type = "application/json";
  res.body = std::move(body);
  return res;
}

response response::streamed(unsigned status, std::string content_type, body_stream body) {
  response res;
  res.status = status;
  res.content_type = std::move(content_type);
  res.stream = std::move(body);
  return res;
}

response response::text(unsigned status, std::string body, std::string content_type) {
  response res;
  res.status = status;
  res.content_type = std::move(content_type);
  res.body = std::move(body);
  return res;
}

response response::errors(unsigned status,
                          const std::vector<std::pair<std::string, std::string>>& field_messages) {
  json::writer w;
  w.begin_object().key("errors").begin_object();
  for (const auto& [field, message] : field_messages) {
    w.key(field).value(message);
  }
  w.end_object().end_object();
  return json(status, std::move(w).str());
}

response& response::with_header(std::string name, std::string value) {
  headers.push_back(header{std::move(name), std::move(value)});
  return *this;
}

responder::responder(std::function<void(response)> complete) : complete_(std::move(complete)) {}

responder::responder(responder&& other) noexcept : complete_(std::exchange(other.complete_, {})) {}

responder& responder::operator=(responder&& other) noexcept {
  if (this != &other) {
    // The request this one still owed is abandoned: it gets the same 503 as a dropped responder.
    responder abandoned(std::move(*this));
    complete_ = std::exchange(other.complete_, {});
  }
  return *this;
}

responder::~responder() {
  if (complete_) {
    complete_(response::errors(503, {{"server", "request was not completed"}}));
  }
}

void responder::operator()(response res) && {
  // Emptied before the call, so the destructor cannot answer a second time.
  if (std::function<void(response)> complete = std::exchange(complete_, {})) {
    complete(std::move(res));
  }
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) {
      continue;  // "a=1&&b=2" and a trailing '&' carry no pair
    }
    const std::size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      out.emplace_back(core::percent_decode(part, true), std::string{});
    } else {
      out.emplace_back(core::percent_decode(part.substr(0, eq), true),
                       core::percent_decode(part.substr(eq + 1), true));
    }
  }
  return out;
}

}  // namespace plumb::http
