#include "plumb/enrich/bots.hpp"

#include <re2/re2.h>
#include <re2/set.h>

#include <span>
#include <stdexcept>

#include "plumb/core/embedded_file.hpp"
#include "plumb/json/value.hpp"
#include "plumb/enrich/user_agent.hpp"

namespace plumb::enrich {

namespace detail {
std::span<const core::embedded_file> bot_files();  // generated (CMakeLists.txt)
}  // namespace detail

namespace {
// Memory RE2 may use for the set's automata: the default (8 MiB) is too small for 1,500
// alternatives, and running out would make matches fail rather than slow down.
constexpr std::int64_t set_max_memory = 64 << 20;
}  // namespace

struct bot_detector::impl {
  impl() : set(options(), RE2::UNANCHORED) {}
  static RE2::Options options() {
    RE2::Options o;
    o.set_max_mem(set_max_memory);
    o.set_log_errors(false);
    return o;
  }
  RE2::Set set;
  std::size_t count = 0;
};

expected<bot_detector, std::string> bot_detector::from_json(std::string_view text) {
  const auto doc = json::parse(text, 8);
  if (!doc || !doc->is_array()) {
    return unexpected<std::string>("bot patterns must be a JSON array of {\"pattern\": ...}");
  }
  auto state = std::make_shared<impl>();
  for (const auto& entry : *doc->as_array()) {
    const auto* pattern = entry.find("pattern");
    if (pattern == nullptr || pattern->as_string() == nullptr) {
      return unexpected<std::string>("a bot pattern entry has no \"pattern\" string");
    }
    std::string error;
    if (state->set.Add(*pattern->as_string(), &error) < 0) {
      return unexpected<std::string>("bot pattern '" + *pattern->as_string() + "': " + error);
    }
    ++state->count;
  }
  if (!state->set.Compile()) {
    return unexpected<std::string>("the bot patterns do not fit in RE2's memory limit");
  }
  return bot_detector(std::move(state));
}

bot_detector bot_detector::builtin() {
  static const auto detector = [] {
    auto parsed = from_json(detail::bot_files().front().data);
    if (!parsed) {
      throw std::runtime_error("embedded bot patterns are broken: " + parsed.error());
    }
    return std::move(*parsed);
  }();
  return detector;
}

bool bot_detector::is_bot(std::string_view user_agent) const {
  if (user_agent.empty()) {
    return true;
  }
  user_agent = user_agent.substr(0, max_user_agent_bytes);
  return impl_->set.Match(re2::StringPiece(user_agent.data(), user_agent.size()), nullptr);
}

std::size_t bot_detector::pattern_count() const { return impl_->count; }

}  // namespace plumb::enrich
