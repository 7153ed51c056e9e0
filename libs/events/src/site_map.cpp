#include "plumb/events/site_map.hpp"

#include <algorithm>

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

// What is wrong with a host name (length, empty or long labels, characters), if anything.
std::optional<std::string> name_problem(std::string_view name) {
  if (name.size() > max_domain_length) {
    return "is longer than 253 characters";
  }
  std::size_t label_length = 0;
  for (const char c : name) {
    if (c == '.') {
      if (label_length == 0) {
        return "has an empty label";
      }
      label_length = 0;
      continue;
    }
    if (!is_label_char(c)) {
      return "may contain only letters, digits, '-', '_' and '.'";
    }
    if (++label_length > max_label_length) {
      return "has a label longer than 63 characters";
    }
  }
  return std::nullopt;
}

}  // namespace

std::string encode_site_descriptor(const site_descriptor& site) {
  json::writer w;
  w.begin_object().key("id").value(site.id).key("tz").value(site.timezone);
  if (site.ignore_do_not_track) {
    w.key("dnt").value(true);
  }
  if (!site.excluded_ip_ranges.empty()) {
    w.key("xip").begin_array();
    for (const auto& range : site.excluded_ip_ranges) {
      w.value(range.to_string());
    }
    w.end_array();
  }
  if (!site.allowed_hostnames.empty()) {
    w.key("hosts").begin_array();
    for (const auto& host : site.allowed_hostnames) {
      w.value(host);
    }
    w.end_array();
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
  site_descriptor site{*id->as_int(), *tz->as_string(), dnt != nullptr && dnt->as_bool().value_or(false), {}, {}};
  if (const auto* ranges = doc->find("xip"); ranges != nullptr) {
    if (ranges->as_array() == nullptr) {
      return std::nullopt;
    }
    for (const auto& item : *ranges->as_array()) {
      const auto range = item.as_string() ? core::cidr::parse(*item.as_string())
                                          : unexpected<std::string>("not a string");
      if (!range) {
        return std::nullopt;
      }
      site.excluded_ip_ranges.push_back(*range);
    }
  }
  if (const auto* hosts = doc->find("hosts"); hosts != nullptr) {
    if (hosts->as_array() == nullptr) {
      return std::nullopt;
    }
    for (const auto& item : *hosts->as_array()) {
      const auto host = item.as_string() ? normalize_hostname_pattern(*item.as_string())
                                         : unexpected<std::string>("not a string");
      if (!host) {
        return std::nullopt;
      }
      site.allowed_hostnames.push_back(*host);
    }
  }
  return site;
}

bool address_excluded(const site_descriptor& site, const core::ip_address& client) {
  return std::any_of(site.excluded_ip_ranges.begin(), site.excluded_ip_ranges.end(),
                     [&client](const core::cidr& range) { return range.contains(client); });
}

bool hostname_allowed(const site_descriptor& site, std::string_view host) {
  if (site.allowed_hostnames.empty()) {
    return true;
  }
  return std::any_of(site.allowed_hostnames.begin(), site.allowed_hostnames.end(),
                     [host](const std::string& pattern) {
                       if (pattern.rfind("*.", 0) == 0) {
                         const std::string_view suffix = std::string_view(pattern).substr(1);  // ".example.com"
                         return host.size() > suffix.size() && host.ends_with(suffix);
                       }
                       return host == pattern;
                     });
}

expected<std::string, std::string> normalize_hostname_pattern(std::string_view input) {
  std::string pattern = core::ascii_lower(core::trim(input));
  const bool wildcard = pattern.rfind("*.", 0) == 0;
  const std::string_view name = std::string_view(pattern).substr(wildcard ? 2 : 0);
  if (name.empty() || name.back() == '.') {
    return unexpected<std::string>("hostname must be a host name such as example.com or *.example.com");
  }
  if (const auto problem = name_problem(name)) {
    return unexpected("hostname " + *problem);
  }
  return pattern;
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
  if (const auto problem = name_problem(domain)) {
    return unexpected("domain " + *problem);
  }
  return domain;
}

}  // namespace plumb::events
