#pragma once
// Known crawlers, uptime monitors, scrapers and headless browsers, from crawler-user-agents
// (MIT, npm, pinned in data/package.json): its ~1,500 patterns compiled into one RE2 set, so a
// check costs one linear-time scan of the user agent whatever the input.

#include <memory>
#include <string>
#include <string_view>

#include "plumb/core/expected.hpp"

namespace plumb::enrich {

class bot_detector {
 public:
  // The embedded pattern list. Throws std::runtime_error only if the embedded data is broken.
  static bot_detector builtin();
  // A crawler-user-agents style JSON array of {"pattern": "..."}; the error names the problem.
  static expected<bot_detector, std::string> from_json(std::string_view json);

  // True for an empty user agent (real browsers always send one) and for any known bot pattern.
  bool is_bot(std::string_view user_agent) const;
  std::size_t pattern_count() const;

 private:
  struct impl;
  explicit bot_detector(std::shared_ptr<const impl> state) : impl_(std::move(state)) {}
  std::shared_ptr<const impl> impl_;  // shared: copies are cheap and thread-safe to use
};

}  // namespace plumb::enrich
