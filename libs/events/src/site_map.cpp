#include "plumb/events/site_map.hpp"

#include "plumb/core/text.hpp"
#include "plumb/json/value.hpp"
#include "plumb/json/writer.hpp"

namespace plumb::events {
namespace {

// RFC 1035: a name is at most 253 characters, each label at most 63.
constexpr std::size_t max_domain_length = 253;
constexpr std::size_t max_label_length = 63;

bool is_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

}  // namespace

std::string encode_site_descriptor(const site_descriptor& site) {
  json::writer w;
  w.begin_object().key("id").value(site.id).key("tz").value(site.timezone);
  if (site.ignore_do_not_track) {
    w.key("dnt").value(true);
  }
  w.end_object();
  return std::move(w).str();
}

std::optional<site_descriptor> decode_site_descriptor(std::string_view text) {
  const auto doc = json::parse(text);
  if (!doc) {
    return std::nullopt;
  }
  const auto* id = doc->find("id");
  const auto* tz = doc->find("tz");
  if (id == nullptr || !id->as_int() || *id->as_int() <= 0 || tz == nullptr || !tz->as_string()) {
    return std::nullopt;
  }
  const auto* dnt = doc->find("dnt");
  return site_descriptor{*id->as_int(), *tz->as_string(),
                         dnt != nullptr && dnt->as_bool().value_or(false)};
}

expected<std::string, std::string> normalize_domain(std::string_view input) {
  std::string domain = core::ascii_lower(input);
  if (const auto scheme = domain.find("://"); scheme != std::string::npos) {
    domain.erase(0, scheme + 3);
  }
  if (const auto end = domain.find_first_of("/?#"); end != std::string::npos) {
    domain.erase(end);
  }
  if (const auto port = domain.find(':'); port != std::string::npos) {
    domain.erase(port);
  }
  if (!domain.empty() && domain.back() == '.') {
    domain.pop_back();
  }
  if (domain.rfind("www.", 0) == 0) {
    domain.erase(0, 4);
  }
  if (domain.empty()) {
    return unexpected<std::string>("domain is empty");
  }
  if (domain.size() > max_domain_length) {
    return unexpected<std::string>("domain is longer than 253 characters");
  }
  std::size_t label_length = 0;
  for (const char c : domain) {
    if (c == '.') {
      if (label_length == 0) {
        return unexpected<std::string>("domain has an empty label");
      }
      label_length = 0;
      continue;
    }
    if (!is_label_char(c)) {
      return unexpected<std::string>("domain may contain only letters, digits, '-', '_' and '.'");
    }
    if (++label_length > max_label_length) {
      return unexpected<std::string>("a domain label is longer than 63 characters");
    }
  }
  return domain;
}

}  // namespace plumb::events
