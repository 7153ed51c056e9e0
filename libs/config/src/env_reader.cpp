#include "plumb/config/env_reader.hpp"

#include <array>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace plumb::config {
namespace {

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out = "invalid configuration:";
  for (const auto& line : lines) {
    out += "\n  ";
    out += line;
  }
  return out;
}

std::optional<std::int64_t> to_int(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

// Values people paste from examples; a service must not run with any of them as a secret.
constexpr std::array<std::string_view, 6> example_secrets = {
    "changeme", "change-me", "secret", "password", "example", "xxxxxxxx"};

}  // namespace

lookup_fn process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0') {
      return std::nullopt;
    }
    return std::string(value);
  };
}

invalid_config::invalid_config(const std::vector<std::string>& problems)
    : std::runtime_error(join_lines(problems)) {}

env_reader::env_reader(lookup_fn lookup) : lookup_(std::move(lookup)) {}

std::optional<std::string> env_reader::raw(const std::string& name) { return lookup_(name); }

void env_reader::problem(const std::string& name, const std::string& message) {
  problems_.push_back(name + ": " + message);
}

std::string env_reader::text(const std::string& name, std::string fallback) {
  std::string value = raw(name).value_or(std::move(fallback));
  effective_.emplace_back(name, value);
  return value;
}

std::string env_reader::required_text(const std::string& name) {
  auto value = raw(name);
  if (!value) {
    problem(name, "is required");
    return {};
  }
  effective_.emplace_back(name, *value);
  return *value;
}

std::int64_t env_reader::integer(const std::string& name, std::int64_t fallback, std::int64_t min,
                                 std::int64_t max) {
  const auto value = raw(name);
  if (!value) {
    effective_.emplace_back(name, std::to_string(fallback));
    return fallback;
  }
  const auto parsed = to_int(*value);
  if (!parsed || *parsed < min || *parsed > max) {
    problem(name, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max) +
                      ", got '" + *value + "'");
    return fallback;
  }
  effective_.emplace_back(name, *value);
  return *parsed;
}

std::chrono::milliseconds env_reader::millis(const std::string& name,
                                             std::chrono::milliseconds fallback,
                                             std::chrono::milliseconds min,
                                             std::chrono::milliseconds max) {
  return std::chrono::milliseconds(integer(name, fallback.count(), min.count(), max.count()));
}

bool env_reader::flag(const std::string& name, bool fallback) {
  const auto value = raw(name);
  if (!value) {
    effective_.emplace_back(name, fallback ? "true" : "false");
    return fallback;
  }
  if (*value == "1" || *value == "true" || *value == "yes" || *value == "on") {
    effective_.emplace_back(name, "true");
    return true;
  }
  if (*value == "0" || *value == "false" || *value == "no" || *value == "off") {
    effective_.emplace_back(name, "false");
    return false;
  }
  problem(name, "must be true or false, got '" + *value + "'");
  return fallback;
}

listen_address env_reader::listen(const std::string& name, std::string_view fallback) {
  const std::string value = raw(name).value_or(std::string(fallback));
  effective_.emplace_back(name, value);
  const auto colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    problem(name, "must be host:port, got '" + value + "'");
    return {};
  }
  std::string host = value.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const auto port = to_int(std::string_view(value).substr(colon + 1));
  if (!port || *port < 0 || *port > 65535) {
    problem(name, "port must be 0-65535, got '" + value.substr(colon + 1) + "'");
    return {};
  }
  return {host, static_cast<std::uint16_t>(*port)};
}

std::string env_reader::secret(const std::string& name, std::size_t min_length) {
  std::optional<std::string> value = raw(name);
  const std::string file_var = name + "_FILE";
  if (!value) {
    if (const auto path = raw(file_var)) {
      std::ifstream in(*path);
      if (!in) {
        problem(file_var, "cannot read '" + *path + "'");
        return {};
      }
      std::stringstream content;
      content << in.rdbuf();
      value = content.str();
      while (!value->empty() && (value->back() == '\n' || value->back() == '\r')) {
        value->pop_back();
      }
    }
  }
  if (!value) {
    problem(name, "is required (or " + file_var + ")");
    return {};
  }
  for (const auto example : example_secrets) {
    if (*value == example) {
      problem(name, "is a well-known example value; generate a real secret");
      return {};
    }
  }
  if (value->size() < min_length) {
    problem(name, "must be at least " + std::to_string(min_length) + " characters");
    return {};
  }
  effective_.emplace_back(name, "***");
  return *value;
}

std::string env_reader::connection_url(const std::string& name, std::string fallback) {
  std::string value = raw(name).value_or(std::move(fallback));
  effective_.emplace_back(name, redact_url(value));
  return value;
}

void env_reader::finish() const {
  if (!problems_.empty()) {
    throw invalid_config(problems_);
  }
}

std::string redact_url(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return std::string(url);
  }
  const auto authority_start = scheme_end + 3;
  const auto at = url.find('@', authority_start);
  const auto slash = url.find('/', authority_start);
  if (at == std::string_view::npos || (slash != std::string_view::npos && at > slash)) {
    return std::string(url);
  }
  const auto colon = url.find(':', authority_start);
  if (colon == std::string_view::npos || colon > at) {
    return std::string(url);
  }
  return std::string(url.substr(0, colon + 1)) + "***" + std::string(url.substr(at));
}

}  // namespace plumb::config
