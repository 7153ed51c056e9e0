#include "plumb/log/logger.hpp"

#include "plumb/core/clock.hpp"
#include "plumb/json/writer.hpp"

namespace plumb::log {
namespace {

std::string_view level_name(level lvl) {
  switch (lvl) {
    case level::debug:
      return "debug";
    case level::info:
      return "info";
    case level::warn:
      return "warn";
    case level::error:
      return "error";
  }
  return "info";
}

}  // namespace

std::optional<level> parse_level(std::string_view text) {
  for (const level lvl : {level::debug, level::info, level::warn, level::error}) {
    if (text == level_name(lvl)) {
      return lvl;
    }
  }
  return std::nullopt;
}

logger::logger(std::string service, level min_level, std::FILE* out)
    : service_(std::move(service)), min_level_(min_level), out_(out) {}

void logger::log(level lvl, std::string_view msg, std::span<const field> fields) {
  if (lvl < min_level_) {
    return;
  }
  write_line(lvl, msg, fields, 0);
}

void logger::rate_limited(level lvl, std::string_view key, std::chrono::milliseconds interval,
                          std::string_view msg, std::initializer_list<field> fields) {
  if (lvl < min_level_) {
    return;
  }
  std::int64_t suppressed = 0;
  {
    const std::lock_guard lock(mutex_);
    auto& state = limits_[std::string(key)];
    const auto now = std::chrono::steady_clock::now();
    if (state.last != std::chrono::steady_clock::time_point{} && now - state.last < interval) {
      ++state.suppressed;
      return;
    }
    state.last = now;
    suppressed = state.suppressed;
    state.suppressed = 0;
  }
  write_line(lvl, msg, std::span<const field>(fields.begin(), fields.size()), suppressed);
}

void logger::write_line(level lvl, std::string_view msg, std::span<const field> fields,
                        std::int64_t suppressed) {
  json::writer w;
  w.begin_object();
  w.key("ts").value(core::format_utc(core::unix_ms(core::system_clock::instance().now())));
  w.key("level").value(level_name(lvl));
  w.key("svc").value(service_);
  w.key("msg").value(msg);
  for (const auto& f : fields) {
    w.key(f.key);
    std::visit([&w](const auto& v) { w.value(v); }, f.value);
  }
  if (suppressed > 0) {
    w.key("suppressed").value(suppressed);
  }
  w.end_object();
  std::string line = std::move(w).str();
  line.push_back('\n');
  // One fwrite per line under the lock: lines from several threads never interleave.
  const std::lock_guard lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

}  // namespace plumb::log
