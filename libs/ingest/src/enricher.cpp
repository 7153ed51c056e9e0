#include "plumb/ingest/enricher.hpp"

#include <algorithm>

namespace plumb::ingest {
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
  std::size_t size = values.size() - attribution_offset - 1;  // the separators
  for (std::size_t i = attribution_offset; i < values.size(); ++i) {
    size += values[i].size();
  }
  std::string packed;
  packed.reserve(size);
  for (std::size_t i = attribution_offset; i < values.size(); ++i) {
    if (i > attribution_offset) {
      packed += events::value_separator;
    }
    packed += values[i];
  }
  return packed;
}

std::array<std::string_view, events::attribution_dimensions.size()> unpack_attribution(
    std::string_view packed) {
  std::array<std::string_view, events::attribution_dimensions.size()> out;
  std::size_t i = 0;
  while (i < out.size()) {
    const auto end = packed.find(events::value_separator);
    out[i++] = packed.substr(0, end);
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
  auto ua = user_agents_.parse(e.user_agent);  // not const: its strings move into `out`
  if (ua.bot || bots_.is_bot(e.user_agent)) {
    out.drop_reason = drop_reason::bot;
    return out;
  }
  auto page = enrich::parse_page_url(e.url, e.hash_mode);
  if (!page) {
    out.drop_reason = drop_reason::bad_url;
    return out;
  }
  auto utm = enrich::parse_campaign(e.url);
  auto source = sources_.classify(e.referrer, page->hostname, utm);
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
  set(dimension::hostname, std::move(page->hostname));
  set(dimension::page, std::move(page->path));
  set(dimension::source, std::move(source.source));
  set(dimension::referrer, std::move(source.referrer_host));
  set(dimension::channel, std::move(source.medium));
  set(dimension::utm_source, std::move(utm.source));
  set(dimension::utm_medium, std::move(utm.medium));
  set(dimension::utm_campaign, std::move(utm.campaign));
  set(dimension::utm_term, std::move(utm.term));
  set(dimension::utm_content, std::move(utm.content));
  set(dimension::country, e.country);
  set(dimension::region, e.region);
  set(dimension::city, events::city_value(e.country, e.region, e.city));
  // The versions first: they read the family names that move next.
  set(dimension::browser_version, with_version(ua.browser, ua.browser_version));
  set(dimension::os_version, with_version(ua.os, ua.os_version));
  set(dimension::browser, std::move(ua.browser));
  set(dimension::os, std::move(ua.os));
  set(dimension::device, std::move(ua.device));
  set(dimension::screen, std::string(events::screen_class(e.screen_width)));
  return out;
}

}  // namespace plumb::ingest
