#include "enricher.hpp"

#include <algorithm>

namespace plumb::worker {
namespace {

constexpr std::size_t index_of(events::dimension d) {
  for (std::size_t i = 0; i < storage::stored_dimensions.size(); ++i) {
    if (storage::stored_dimensions[i] == d) {
      return i;
    }
  }
  return storage::stored_dimensions.size();
}

// The attribution dimensions follow hostname and page in stored_dimensions.
constexpr std::size_t attribution_offset = index_of(events::attribution_dimensions[0]);
static_assert(attribution_offset == 2);

std::string with_version(const std::string& family, const std::string& version) {
  return version.empty() ? family : family + " " + version;
}

}  // namespace

const std::string& enriched_event::value(events::dimension d) const {
  return values.at(index_of(d));
}

std::string enriched_event::attribution() const {
  std::string packed;
  for (std::size_t i = attribution_offset; i < values.size(); ++i) {
    if (i > attribution_offset) {
      packed += events::value_separator;
    }
    packed += values[i];
  }
  return packed;
}

std::array<std::string, events::attribution_dimensions.size()> unpack_attribution(
    std::string_view packed) {
  std::array<std::string, events::attribution_dimensions.size()> out;
  std::size_t i = 0;
  while (i < out.size()) {
    const auto end = packed.find(events::value_separator);
    out[i++] = std::string(packed.substr(0, end));
    if (end == std::string_view::npos) {
      break;
    }
    packed.remove_prefix(end + 1);
  }
  return out;
}

enricher::enricher(enrich::spam_filter spam)
    : user_agents_(enrich::user_agent_parser::builtin()),
      bots_(enrich::bot_detector::builtin()),
      sources_(enrich::source_classifier::builtin()),
      spam_(std::move(spam)) {}

enriched_event enricher::enrich(const events::event& e) const {
  enriched_event out;
  if (e.user_agent.empty()) {
    out.drop_reason = drop_reason::no_user_agent;
    return out;
  }
  const auto ua = user_agents_.parse(e.user_agent);
  if (ua.bot || bots_.is_bot(e.user_agent)) {
    out.drop_reason = drop_reason::bot;
    return out;
  }
  const auto page = enrich::parse_page_url(e.url, e.hash_mode);
  if (!page) {
    out.drop_reason = drop_reason::bad_url;
    return out;
  }
  const auto utm = enrich::parse_campaign(e.url);
  const auto source = sources_.classify(e.referrer, page->hostname, utm);
  if (!source.referrer_host.empty() && spam_.is_spam(source.referrer_host)) {
    out.drop_reason = drop_reason::referrer_spam;
    return out;
  }
  auto set = [&](events::dimension d, std::string v) {
    // The separator packs visit attributions; it cannot come from validated input, but a value
    // must never be able to shift the fields after it.
    std::erase(v, events::value_separator);
    out.values[index_of(d)] = std::move(v);
  };
  using events::dimension;
  set(dimension::hostname, page->hostname);
  set(dimension::page, page->path);
  set(dimension::source, source.source);
  set(dimension::referrer, source.referrer_host);
  set(dimension::channel, source.medium);
  set(dimension::utm_source, utm.source);
  set(dimension::utm_medium, utm.medium);
  set(dimension::utm_campaign, utm.campaign);
  set(dimension::utm_term, utm.term);
  set(dimension::utm_content, utm.content);
  set(dimension::country, e.country);
  set(dimension::browser, ua.browser);
  set(dimension::browser_version, with_version(ua.browser, ua.browser_version));
  set(dimension::os, ua.os);
  set(dimension::os_version, with_version(ua.os, ua.os_version));
  set(dimension::device, ua.device);
  set(dimension::screen, std::string(events::screen_class(e.screen_width)));
  return out;
}

}  // namespace plumb::worker
