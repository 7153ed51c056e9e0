#pragma once
// User agent → browser, OS and device type, with uap-core's regexes.yaml (the npm package
// `uap-core`, pinned in libs/enrich/data/package.json and embedded into the binary at build time)
// matched by RE2, whose run time is linear in the input: no user agent can make it backtrack
// (ReDoS). uap semantics: in each section (user_agent_parsers, os_parsers, device_parsers) the
// first matching regex wins, replacements substitute $1..$9, and "Other" means nothing matched.
//
// Rules that RE2 cannot compile (lookarounds, backreferences) are skipped and counted
// (unsupported_rules()); the conformance test shows what that costs.
//
// Privacy: the user agent is only matched; nothing here keeps it, except the cache below, which
// keeps recent user agents (not tied to any visitor) in memory to skip re-parsing them.

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "plumb/core/expected.hpp"

namespace plumb::enrich {

// Only this many leading bytes of a user agent are matched. Real ones are under 300 bytes; the
// cap bounds the cost of a parse (hundreds of regexes, each linear in the input) and of the cache
// keys against crafted headers.
inline constexpr std::size_t max_user_agent_bytes = 512;

struct user_agent_info {
  std::string browser;          // uap user agent family ("Chrome", "Firefox"), "Other" if unknown
  std::string browser_version;  // major only ("124"), or empty
  std::string os;               // uap OS family ("Windows", "Mac OS X", "iOS"), "Other" if unknown
  std::string os_version;       // major[.minor] ("10", "14.4"), or empty
  std::string device;           // "desktop" | "mobile" | "tablet" | "" (unknown, and bots)
  std::string device_family;    // uap device family ("iPhone", "Spider"), "Other" if unknown
  bool bot = false;             // uap device family "Spider"

  friend bool operator==(const user_agent_info&, const user_agent_info&) = default;
};

// Immutable after construction: parse() is const and safe from any number of threads at once.
// Copies share the compiled rules.
class user_agent_parser {
 public:
  // The rules from the embedded regexes.yaml. Throws std::runtime_error if that file does not
  // parse (a build defect, not bad input); the rules are compiled once per process and shared.
  static user_agent_parser builtin();
  // Rules from the text of a regexes.yaml; fails with a one-line message on malformed YAML or a
  // rule without a regex. Rules RE2 cannot compile are skipped and counted, not errors.
  static expected<user_agent_parser, std::string> from_yaml(std::string_view yaml);

  // Never throws on bad input: an empty, binary or over-long user agent (only the first
  // max_user_agent_bytes are read) gives "Other" families where nothing matches.
  user_agent_info parse(std::string_view ua) const;

  // How many rules of regexes.yaml were skipped because RE2 cannot compile them.
  std::size_t unsupported_rules() const;
  // How many rules are in use, over all three sections.
  std::size_t rule_count() const;

  struct rules;  // defined in user_agent.cpp; RE2 stays inside this library

 private:
  explicit user_agent_parser(std::shared_ptr<const rules> compiled);
  std::shared_ptr<const rules> rules_;
};

// The "desktop" | "mobile" | "tablet" | "" heuristic parse() applies, exposed for tests. See
// user_agent.cpp for the rules and their order.
std::string device_type(std::string_view ua, std::string_view os_family,
                        std::string_view device_family);

// A user_agent_parser in front of a bounded LRU cache: a site sees the same few hundred user
// agents over and over, and an uncached parse runs hundreds of regexes. Safe from many threads:
// one mutex guards the cache, and it is not held while parsing.
class cached_user_agent_parser {
 public:
  // Enough for the distinct user agents of a busy site over hours; at ~1 KB per entry (key plus
  // strings) the cache stays around 10 MB.
  static constexpr std::size_t default_capacity = 10'000;

  explicit cached_user_agent_parser(user_agent_parser parser,
                                    std::size_t capacity = default_capacity);

  user_agent_info parse(std::string_view ua) const;

  std::size_t size() const;
  std::size_t capacity() const { return capacity_; }

 private:
  using entry = std::pair<std::string, user_agent_info>;

  user_agent_parser parser_;
  std::size_t capacity_;
  mutable std::mutex mutex_;
  // Most recently used first; the map's keys view the strings inside the list nodes, which never
  // move.
  mutable std::list<entry> lru_;
  mutable std::unordered_map<std::string_view, std::list<entry>::iterator> index_;
};

}  // namespace plumb::enrich
