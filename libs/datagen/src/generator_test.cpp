#include "plumb/datagen/generator.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <string>

#include "plumb/enrich/referrer.hpp"
#include "plumb/enrich/user_agent.hpp"

namespace {

using plumb::datagen::counters;
using plumb::datagen::expected_rollups;
using plumb::datagen::generate;
using plumb::datagen::generated;
using plumb::datagen::options;
using plumb::events::dimension;

constexpr std::int64_t minute_ms = 60'000;
constexpr std::int64_t hour_ms = 60 * minute_ms;
constexpr std::int64_t day_ms = 24 * hour_ms;
// 2024-05-01T00:00:00Z, plus 7 h so the range does not start at midnight.
constexpr std::int64_t may_2024_ms = 1'714'521'600'000;

options small_options(std::uint64_t seed) {
  options o;
  o.seed = seed;
  o.sites = {{1, "example.com", 3}, {2, "", 1}};
  o.start_ms = may_2024_ms + 7 * hour_ms;
  o.days = 3;
  o.target_events = 5'000;
  return o;
}

std::int64_t floor_to(std::int64_t ms, std::int64_t unit) {
  return ms >= 0 ? ms - ms % unit : ms - ((ms % unit) + unit) % unit;
}

std::string join(std::string_view a, std::string_view b) {
  return std::string(a) + (b.empty() ? "" : " " + std::string(b));
}

}  // namespace

TEST_CASE("same seed gives identical events and truth, another seed differs", "[datagen]") {
  const auto a = generate(small_options(7));
  const auto b = generate(small_options(7));
  const auto c = generate(small_options(8));
  REQUIRE(a.events.size() == b.events.size());
  CHECK(a.events == b.events);
  REQUIRE(a.visits.size() == b.visits.size());
  for (std::size_t i = 0; i < a.visits.size(); ++i) {
    CHECK(a.visits[i].visit_key == b.visits[i].visit_key);
    CHECK(a.visits[i].start_ms == b.visits[i].start_ms);
    CHECK(a.visits[i].attribution == b.visits[i].attribution);
    CHECK(a.visits[i].visitor_hashes == b.visits[i].visitor_hashes);
  }
  CHECK(a.events != c.events);
}

TEST_CASE("event count is near the target, events sorted and within the range", "[datagen]") {
  const auto o = small_options(11);
  const auto g = generate(o);
  CHECK(static_cast<std::int64_t>(g.events.size()) >= o.target_events);
  // One visitor makes at most 4 visits of at most 8 events.
  CHECK(static_cast<std::int64_t>(g.events.size()) < o.target_events + 32);
  std::set<std::string> ids;
  std::set<std::int64_t> sites;
  for (std::size_t i = 0; i < g.events.size(); ++i) {
    const auto& e = g.events[i];
    if (i > 0) {
      CHECK(g.events[i - 1].received_ms <= e.received_ms);
    }
    CHECK(e.received_ms == e.id.unix_ms());
    CHECK(e.received_ms >= o.start_ms);
    CHECK(e.received_ms < o.start_ms + o.days * day_ms);
    CHECK((e.id.bytes()[6] >> 4) == 7);
    CHECK((e.id.bytes()[8] & 0xC0) == 0x80);
    CHECK(e.visitor_hash != 0);
    CHECK(e.previous_visitor_hash != 0);
    CHECK(e.url.starts_with("https://"));
    CHECK_FALSE(e.hash_mode);
    ids.insert(e.id.to_string());
    sites.insert(e.site_id);
  }
  CHECK(ids.size() == g.events.size());
  CHECK(sites == std::set<std::int64_t>{1, 2});
  CHECK_THROWS_AS(generate(options{}), std::invalid_argument);
}

TEST_CASE("visits: no internal gap of 30 minutes, midnight visits link their hashes", "[datagen]") {
  const auto g = generate(small_options(3));
  // Rebuild visits from the events by visitor hash chains, as the product's definition does.
  std::map<std::uint64_t, std::vector<const plumb::events::event*>> by_hash;
  for (const auto& e : g.events) {
    by_hash[e.visitor_hash].push_back(&e);
  }
  std::int64_t across_midnight = 0;
  std::int64_t events_in_visits = 0;
  for (const auto& v : g.visits) {
    CHECK(v.start_ms <= v.end_ms);
    CHECK(v.pageviews >= 1);
    CHECK(v.attribution.size() == plumb::events::attribution_dimensions.size());
    events_in_visits += v.pageviews + v.events;
    std::vector<const plumb::events::event*> mine;
    for (const auto h : v.visitor_hashes) {
      for (const auto* e : by_hash[h]) {
        if (e->received_ms >= v.start_ms && e->received_ms <= v.end_ms && e->site_id == v.site_id) {
          mine.push_back(e);
        }
      }
    }
    std::sort(mine.begin(), mine.end(),
              [](auto* x, auto* y) { return x->received_ms < y->received_ms; });
    REQUIRE(static_cast<std::int64_t>(mine.size()) == v.pageviews + v.events);
    for (std::size_t i = 1; i < mine.size(); ++i) {
      CHECK(mine[i]->received_ms - mine[i - 1]->received_ms < 30 * minute_ms);
      CHECK(mine[i]->received_ms > mine[i - 1]->received_ms);
      if (mine[i]->visitor_hash != mine[i - 1]->visitor_hash) {
        CHECK(mine[i]->previous_visitor_hash == mine[i - 1]->visitor_hash);
      }
    }
    if (v.visitor_hashes.size() == 2) {
      ++across_midnight;
      CHECK(v.start_ms / day_ms + 1 == v.end_ms / day_ms);
    }
    CHECK(v.bounce == (v.pageviews == 1 && std::none_of(mine.begin(), mine.end(), [](auto* e) {
                         return e->name != "pageview" && e->interactive;
                       })));
  }
  CHECK(events_in_visits == static_cast<std::int64_t>(g.events.size()));
  CHECK(across_midnight > 0);
}

TEST_CASE("user agent table agrees with the enrich parser", "[datagen]") {
  const auto parser = plumb::enrich::user_agent_parser::builtin();
  for (const auto& row : plumb::datagen::user_agents()) {
    INFO(row.user_agent);
    const auto info = parser.parse(row.user_agent);
    CHECK_FALSE(info.bot);
    CHECK(info.browser == row.browser);
    CHECK(join(info.browser, info.browser_version) == row.browser_version);
    CHECK(info.os == row.os);
    CHECK(join(info.os, info.os_version) == row.os_version);
    CHECK(info.device == row.device);
  }
}

TEST_CASE("landing source table agrees with the enrich classifier", "[datagen]") {
  const auto classifier = plumb::enrich::source_classifier::builtin();
  for (const std::string host : {"example.com", "www.example.com"}) {
    for (const auto& row : plumb::datagen::landing_sources()) {
      const std::string url = "https://" + host + "/pricing" + std::string(row.query);
      INFO(row.referrer << " " << url);
      const auto page = plumb::enrich::parse_page_url(url, false);
      REQUIRE(page.has_value());
      CHECK(page->path == "/pricing");
      const auto utm = plumb::enrich::parse_campaign(url);
      const auto source = classifier.classify(row.referrer, page->hostname, utm);
      CHECK(source.source == row.source);
      CHECK(source.medium == row.channel);
      CHECK(source.referrer_host == row.referrer_host);
      CHECK(utm.source == row.utm_source);
      CHECK(utm.medium == row.utm_medium);
      CHECK(utm.campaign == row.utm_campaign);
      CHECK(utm.term == row.utm_term);
      CHECK(utm.content == row.utm_content);
      // No row has a search term in its referrer, so either reading of utm_term agrees.
      CHECK(source.term == row.utm_term);
    }
  }
  // Later events of a visit carry a page of the same site as referrer: no referrer.
  const auto self = classifier.classify("https://www.example.com/docs", "example.com", {});
  CHECK(self.source == plumb::enrich::direct_source);
  CHECK(self.referrer_host.empty());
}

TEST_CASE("generated pages and hosts agree with parse_page_url", "[datagen]") {
  const auto g = generate(small_options(5));
  const auto rollups = expected_rollups(g, [](std::int64_t, std::int64_t) { return 0; });
  std::set<std::string> pages;
  std::set<std::string> hosts;
  for (const auto& e : g.events) {
    const auto page = plumb::enrich::parse_page_url(e.url, e.hash_mode);
    REQUIRE(page.has_value());
    pages.insert(page->path);
    hosts.insert(page->hostname);
  }
  std::set<std::string> rollup_pages;
  std::set<std::string> rollup_hosts;
  for (const auto& [key, c] : rollups) {
    if (std::get<2>(key) == dimension::page) {
      rollup_pages.insert(std::get<3>(key));
    } else if (std::get<2>(key) == dimension::hostname) {
      rollup_hosts.insert(std::get<3>(key));
    }
  }
  CHECK(pages == rollup_pages);
  CHECK(hosts == rollup_hosts);
  CHECK(hosts == std::set<std::string>{"example.com", "site2.example.com"});
}

TEST_CASE("expected rollups are self-consistent", "[datagen]") {
  const auto g = generate(small_options(9));
  const auto utc_hour = [](std::int64_t, std::int64_t ms) { return floor_to(ms, hour_ms); };
  // A +05:30 site's local day, in UTC ms of its local midnight.
  const auto india_day = [](std::int64_t, std::int64_t ms) {
    const std::int64_t offset = 5 * hour_ms + 30 * minute_ms;
    return floor_to(ms + offset, day_ms) - offset;
  };
  for (const auto& bucket :
       {plumb::datagen::bucket_fn(utc_hour), plumb::datagen::bucket_fn(india_day)}) {
    const auto rollups = expected_rollups(g, bucket);
    // Per (site, bucket): the total row and the sums over each dimension.
    using slot = std::pair<std::int64_t, std::int64_t>;
    std::map<slot, counters> total;
    std::map<std::tuple<std::int64_t, std::int64_t, dimension>, counters> sums;
    for (const auto& [key, c] : rollups) {
      const auto& [site, b, d, value] = key;
      if (d == dimension::total) {
        CHECK(value.empty());
        total[{site, b}] = c;
        continue;
      }
      auto& s = sums[{site, b, d}];
      s.pageviews += c.pageviews;
      s.events += c.events;
      s.visits += c.visits;
      s.bounces += c.bounces;
      s.duration_ms += c.duration_ms;
      s.revenue_micros += c.revenue_micros;
      s.visitors.insert(c.visitors.begin(), c.visitors.end());
    }
    std::int64_t all_visits = 0;
    std::int64_t all_pageviews = 0;
    for (const auto& [slot_key, t] : total) {
      all_visits += t.visits;
      all_pageviews += t.pageviews;
    }
    CHECK(all_visits == static_cast<std::int64_t>(g.visits.size()));
    CHECK(all_pageviews > 0);
    for (const auto& [key, s] : sums) {
      const auto& [site, b, d] = key;
      const auto& t = total[{site, b}];
      INFO("dimension " << plumb::events::name_of(d));
      if (d == dimension::page || d == dimension::hostname) {
        CHECK(s.pageviews == t.pageviews);
        CHECK(s.events == t.events);
        CHECK(s.visitors == t.visitors);
      } else if (d == dimension::event) {
        CHECK(s.events == t.events);
      } else if (d == dimension::prop || d == dimension::revenue) {
        CHECK(s.events <= t.events * 2);
      } else {
        // A visit dimension: every visit once, in its start bucket.
        CHECK(s.visits == t.visits);
        CHECK(s.bounces == t.bounces);
        CHECK(s.duration_ms == t.duration_ms);
      }
    }
    // Every visit dimension covers all visits in every (site, start bucket) that has visits.
    for (const auto& [slot_key, t] : total) {
      if (t.visits == 0) {
        continue;
      }
      for (const auto d : plumb::events::attribution_dimensions) {
        CHECK(sums[{slot_key.first, slot_key.second, d}].visits == t.visits);
      }
      CHECK(sums[{slot_key.first, slot_key.second, dimension::entry_page}].visits == t.visits);
      CHECK(sums[{slot_key.first, slot_key.second, dimension::exit_page}].visits == t.visits);
    }
  }
  // Whole-range sums: visit dimensions carry every pageview and event exactly once.
  const auto all = expected_rollups(g, [](std::int64_t, std::int64_t) { return 0; });
  std::int64_t pageviews = 0;
  std::int64_t source_pageviews = 0;
  std::int64_t revenue_micros = 0;
  std::int64_t empty_utm_visits = 0;
  for (const auto& [key, c] : all) {
    const auto d = std::get<2>(key);
    if (d == dimension::total) {
      pageviews += c.pageviews;
    } else if (d == dimension::source) {
      source_pageviews += c.pageviews;
    } else if (d == dimension::revenue) {
      revenue_micros += c.revenue_micros;
    } else if (d == dimension::utm_source && std::get<3>(key).empty()) {
      empty_utm_visits += c.visits;
    }
  }
  CHECK(pageviews == source_pageviews);
  CHECK(revenue_micros > 0);
  CHECK(empty_utm_visits > 0);
}

TEST_CASE("revenue text is exact", "[datagen]") {
  counters c;
  c.revenue_micros = 25'000'000;
  CHECK(c.revenue() == "25.00");
  c.revenue_micros = 12'500'000 + 9'990'000;
  CHECK(c.revenue() == "22.49");
  c.revenue_micros = 1;
  CHECK(c.revenue() == "0.000001");
}

TEST_CASE("timing: one million events (printed, not asserted)", "[datagen][.timing]") {
  options o;
  o.seed = 42;
  o.sites = {{1, "example.com", 1}};
  o.start_ms = may_2024_ms;
  o.days = 30;
  o.target_events = 1'000'000;
  const auto t0 = std::chrono::steady_clock::now();
  const auto g = generate(o);
  const auto t1 = std::chrono::steady_clock::now();
  const auto rollups = expected_rollups(
      g, [](std::int64_t, std::int64_t ms) { return ms - ms % (24 * 60 * 60 * 1000); });
  const auto t2 = std::chrono::steady_clock::now();
  using ms = std::chrono::milliseconds;
  std::printf(
      "datagen: %zu events, %zu visits generated in %lld ms; %zu daily rollup rows in %lld ms\n",
      g.events.size(), g.visits.size(),
      static_cast<long long>(std::chrono::duration_cast<ms>(t1 - t0).count()), rollups.size(),
      static_cast<long long>(std::chrono::duration_cast<ms>(t2 - t1).count()));
  CHECK(g.events.size() >= 1'000'000);
}

TEST_CASE("event_id::from_parts is reproducible and a valid UUIDv7", "[datagen]") {
  using plumb::core::event_id;
  const auto a = event_id::from_parts(may_2024_ms + 123, 0xFFFFFFFFFFFFFFFFULL, 0);
  CHECK(a == event_id::from_parts(may_2024_ms + 123, 0xFFFFFFFFFFFFFFFFULL, 0));
  CHECK(a != event_id::from_parts(may_2024_ms + 123, 0xFFFFFFFFFFFFFFFFULL, 1));
  CHECK(a.unix_ms() == may_2024_ms + 123);
  CHECK(a.to_string() == "018f3173-707b-7fff-8000-000000000000");
  CHECK(event_id::parse(a.to_string()) == a);
}

TEST_CASE("tail pages: distinct paths in proportion to the site's weight", "[datagen]") {
  auto o = small_options(3);
  o.target_events = 20'000;
  o.tail_pages = 400;  // site 1 (weight 3) gets 400, site 2 (weight 1) 133
  const auto data = generate(o);
  std::map<std::int64_t, std::set<std::string>> tail;
  for (const auto& e : data.events) {
    const auto path = plumb::enrich::parse_page_url(e.url, false)->path;
    if (path.rfind("/p/", 0) == 0) {
      CHECK(std::stoll(path.substr(3)) < (e.site_id == 1 ? 400 : 133));
      tail[e.site_id].insert(path);
    }
  }
  // Uniform draws: a few thousand views cover nearly every tail page.
  CHECK(tail[1].size() > 380);
  CHECK(tail[2].size() > 120);
  CHECK(tail[2].size() <= 133);
  // The option changes nothing else when it is 0: same events as without it.
  CHECK(generate(small_options(3)).events == [] {
    auto zero = small_options(3);
    zero.tail_pages = 0;
    return generate(zero).events;
  }());
  o.tail_pages = -1;
  CHECK_THROWS_AS(generate(o), std::invalid_argument);
}
