#pragma once
// Turns a stream event into what is stored: its dimension values (page, source, campaign,
// browser, ...), or the reason it is dropped (bots, referrer spam). Pure and thread-safe; the
// only state is the immutable rule sets of libs/enrich and the user-agent cache.

#include <string>
#include <string_view>

#include "plumb/enrich/bots.hpp"
#include "plumb/enrich/referrer.hpp"
#include "plumb/enrich/user_agent.hpp"
#include "plumb/events/event.hpp"
#include "plumb/storage/event_writer.hpp"

namespace plumb::ingest {

// Why an event is not counted; each is tallied per site (dimension "dropped") and in metrics.
namespace drop_reason {
inline constexpr std::string_view bot = "bot";                      // known crawler or headless browser
inline constexpr std::string_view no_user_agent = "no_user_agent";  // real browsers always send one
inline constexpr std::string_view referrer_spam = "referrer_spam";
inline constexpr std::string_view bad_url = "bad_url";  // a page URL enrichment cannot parse
}  // namespace drop_reason

struct enriched_event {
  std::string drop_reason;  // empty when the event is kept
  std::array<std::string, storage::stored_dimensions.size()> values;  // by stored_dimensions

  bool kept() const { return drop_reason.empty(); }
  const std::string& value(events::dimension d) const;
  // The visit dimensions, packed for the visit tracker (which keeps its first event's).
  std::string attribution() const;
};

// The visit dimension values packed by enriched_event::attribution(), by
// events::attribution_dimensions, as views into `packed`; a malformed pack gives empty strings.
std::array<std::string_view, events::attribution_dimensions.size()> unpack_attribution(
    std::string_view packed);

class enricher {
 public:
  explicit enricher(enrich::spam_filter spam);

  enriched_event enrich(const events::event& e) const;

 private:
  enrich::cached_user_agent_parser user_agents_;
  enrich::bot_detector bots_;
  enrich::source_classifier sources_;
  enrich::spam_filter spam_;
};

}  // namespace plumb::ingest
