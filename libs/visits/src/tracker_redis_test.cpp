#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "plumb/test_support/environment.hpp"
#include "plumb/visits/in_order_tracker.hpp"
#include "plumb/visits/tracker.hpp"

using namespace plumb;

namespace {

constexpr std::int64_t site = 7;
constexpr std::int64_t second = 1'000;
constexpr std::int64_t minute = 60 * second;
constexpr std::int64_t hour = 60 * minute;
// 2025-11-21T00:00:00Z: a UTC midnight, for the continuation test.
constexpr std::int64_t midnight = 1'763'683'200'000;
constexpr std::int64_t t0 = midnight + 10 * hour;

redis::connection connect() {
  return redis::connection(*redis::endpoint::parse_url(test_support::redis_url()));
}

events::keys fresh_keys() {
  return events::keys(test_support::unique_name("t:") + ":");
}

visits::hit pageview(std::uint64_t visitor, std::int64_t at, std::string id, std::string page,
                     std::string attribution = "direct") {
  visits::hit h;
  h.site_id = site;
  h.visitor_hash = visitor;
  h.received_ms = at;
  h.event_id = std::move(id);
  h.pageview = true;
  h.page = std::move(page);
  h.attribution = std::move(attribution);
  return h;
}

visits::hit custom(std::uint64_t visitor, std::int64_t at, std::string id, bool interactive) {
  auto h = pageview(visitor, at, std::move(id), "/custom");
  h.pageview = false;
  h.interactive_event = interactive;
  return h;
}

visits::transition apply_one(visits::tracker& tracker, const visits::hit& h) {
  const auto got = tracker.apply(std::span(&h, 1));
  REQUIRE(got.size() == 1);
  return got[0];
}

// What a worker's counters hold after adding (after - before) of every transition.
struct totals {
  std::int64_t visits = 0;
  std::int64_t bounces = 0;
  std::int64_t duration_ms = 0;
  std::int64_t pageviews = 0;
  std::int64_t events = 0;
  std::map<std::string, std::int64_t> entries, exits, by_attribution;

  void add(const visits::snapshot& s, std::int64_t sign) {
    visits += sign;
    bounces += s.bounce ? sign : 0;
    duration_ms += sign * s.duration_ms();
    pageviews += sign * s.pageviews;
    events += sign * s.events;
    entries[s.entry_page] += sign;
    exits[s.exit_page] += sign;
    by_attribution[s.attribution] += sign;
  }
  void add(const visits::transition& t) {
    add(t.after, 1);
    for (const auto& before : t.before) {
      add(before, -1);
    }
  }
  // Keys whose sum came back to zero are no difference.
  totals normalized() const {
    auto out = *this;
    for (auto* m : {&out.entries, &out.exits, &out.by_attribution}) {
      std::erase_if(*m, [](const auto& kv) { return kv.second == 0; });
    }
    return out;
  }
  bool operator==(const totals&) const = default;
};

std::ostream& operator<<(std::ostream& os, const std::map<std::string, std::int64_t>& m) {
  for (const auto& [k, v] : m) {
    os << k << "=" << v << " ";
  }
  return os;
}

std::ostream& operator<<(std::ostream& os, const totals& t) {
  return os << "visits=" << t.visits << " bounces=" << t.bounces << " duration=" << t.duration_ms
            << " pageviews=" << t.pageviews << " events=" << t.events << " entries={" << t.entries
            << "} exits={" << t.exits << "} attribution={" << t.by_attribution << "}";
}

std::uint64_t test_seed() {
  if (const char* env = std::getenv("PLUMB_TEST_SEED")) {
    return std::stoull(env);
  }
  return std::random_device{}();
}

std::string uuid(std::mt19937_64& rng) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) {
      out += '-';
    }
    out += digits[rng() % 16];
  }
  return out;
}

}  // namespace

TEST_CASE("in-order pageviews form one visit whose exit page, duration and bounce follow") {
  auto redis = connect();
  const auto keys = fresh_keys();
  visits::tracker tracker(redis, keys);

  const auto first = apply_one(tracker, pageview(1, t0, "e1", "/home", "google"));
  CHECK(first.before.empty());
  CHECK(first.after.visit_id == "e1");
  CHECK(first.after.bounce);
  CHECK(first.after.pageviews == 1);
  CHECK(first.after.duration_ms() == 0);
  CHECK(first.after.entry_page == "/home");
  CHECK(first.after.exit_page == "/home");
  CHECK(first.after.attribution == "google");
  CHECK(first.after.visitor_hashes == std::vector<std::uint64_t>{1});

  const auto second_hit = apply_one(tracker, pageview(1, t0 + 10 * second, "e2", "/pricing", "x"));
  REQUIRE(second_hit.before.size() == 1);
  CHECK(second_hit.before[0] == first.after);
  CHECK(second_hit.after.visit_id == "e1");
  CHECK_FALSE(second_hit.after.bounce);
  CHECK(second_hit.after.pageviews == 2);
  CHECK(second_hit.after.duration_ms() == 10 * second);
  CHECK(second_hit.after.entry_page == "/home");
  CHECK(second_hit.after.exit_page == "/pricing");
  CHECK(second_hit.after.attribution == "google");  // the earliest event's, not the latest
  CHECK(second_hit.after.visitor_hashes == std::vector<std::uint64_t>{1});  // not repeated
}

TEST_CASE("a gap over 30 minutes opens a new visit, an exact 30-minute gap does not") {
  auto redis = connect();
  const auto keys = fresh_keys();
  visits::tracker tracker(redis, keys);

  apply_one(tracker, pageview(1, t0, "a1", "/"));
  const auto joined = apply_one(tracker, pageview(1, t0 + 30 * minute, "a2", "/b"));
  CHECK(joined.before.size() == 1);
  CHECK(joined.after.visit_id == "a1");

  const auto next = apply_one(tracker, pageview(1, t0 + 60 * minute + 1, "a3", "/c"));
  CHECK(next.before.empty());
  CHECK(next.after.visit_id == "a3");
  CHECK(next.after.pageviews == 1);
  CHECK(next.after.entry_page == "/c");
  CHECK(next.after.start_ms == t0 + 60 * minute + 1);

  // An event long before the stored visits opens a visit of its own, which later events join.
  const auto straggler = apply_one(tracker, pageview(1, t0 - 2 * hour, "a0", "/old"));
  CHECK(straggler.before.empty());
  CHECK(straggler.after.visit_id == "a0");
  CHECK(straggler.after.pageviews == 1);
  const auto older = apply_one(tracker, pageview(1, t0 - 2 * hour - 30 * minute, "z", "/"));
  REQUIRE(older.before.size() == 1);
  CHECK(older.before[0] == straggler.after);
  CHECK(older.after.visit_id == "a0");
  CHECK(older.after.entry_page == "/");
  CHECK(older.after.pageviews == 2);

  const auto after = apply_one(tracker, pageview(1, t0 + 61 * minute, "a4", "/d"));
  REQUIRE(after.before.size() == 1);
  CHECK(after.before[0].visit_id == "a3");
  CHECK(after.after.pageviews == 2);

  // An event within 30 minutes of two visits merges them into one, under the earlier's id.
  const auto bridge = apply_one(tracker, pageview(1, t0 + 45 * minute, "a5", "/e"));
  REQUIRE(bridge.before.size() == 2);
  CHECK(bridge.before[0] == joined.after);
  CHECK(bridge.before[1] == after.after);
  CHECK(bridge.after.visit_id == "a1");
  CHECK(bridge.after.start_ms == t0);
  CHECK(bridge.after.last_ms == t0 + 61 * minute);
  CHECK(bridge.after.pageviews == 5);
  CHECK(bridge.after.entry_page == "/");
  CHECK(bridge.after.exit_page == "/d");
  // The straggler's visit is still apart.
  const auto apart = apply_one(tracker, pageview(1, t0 - 100 * minute, "a6", "/f"));
  REQUIRE(apart.before.size() == 1);
  CHECK(apart.before[0].visit_id == "a0");
}

TEST_CASE("events at 0, 40 and 20 minutes processed in that order form one visit") {
  auto redis = connect();
  const auto keys = fresh_keys();
  visits::tracker tracker(redis, keys);

  const auto first = apply_one(tracker, pageview(1, t0, "o0", "/zero", "ads"));
  const auto late = apply_one(tracker, pageview(1, t0 + 40 * minute, "o40", "/forty"));
  CHECK(late.before.empty());  // 40 minutes after the only visit so far: a visit of its own
  const auto middle = apply_one(tracker, pageview(1, t0 + 20 * minute, "o20", "/twenty"));
  REQUIRE(middle.before.size() == 2);
  CHECK(middle.before[0] == first.after);
  CHECK(middle.before[1] == late.after);
  CHECK(middle.after.visit_id == "o0");
  CHECK(middle.after.start_ms == t0);
  CHECK(middle.after.duration_ms() == 40 * minute);
  CHECK(middle.after.pageviews == 3);
  CHECK(middle.after.entry_page == "/zero");
  CHECK(middle.after.exit_page == "/forty");
  CHECK(middle.after.attribution == "ads");
  CHECK_FALSE(middle.after.bounce);

  totals sum;
  for (const auto& t : {first, late, middle}) {
    sum.add(t);
  }
  const auto normalized = sum.normalized();
  CHECK(normalized.visits == 1);
  CHECK(normalized.duration_ms == 40 * minute);
  CHECK(normalized.entries == std::map<std::string, std::int64_t>{{"/zero", 1}});
  CHECK(normalized.exits == std::map<std::string, std::int64_t>{{"/forty", 1}});
}

TEST_CASE("a visitor's state keeps a bounded number of visits, the most recent ones") {
  auto redis = connect();
  const auto keys = fresh_keys();
  visits::tracker tracker(redis, keys);

  // A day-old event can still join its visit (a replayed backlog).
  apply_one(tracker, pageview(1, t0, "k0", "/"));
  apply_one(tracker, pageview(1, t0 + 24 * hour, "k1", "/"));
  CHECK(apply_one(tracker, pageview(1, t0 + 10 * minute, "late", "/")).before.size() == 1);
  // Beyond max_remembered_visits, the visits that ended first are forgotten.
  for (std::size_t i = 0; i < visits::max_remembered_visits; ++i) {
    apply_one(tracker, pageview(1, t0 + 30 * hour + static_cast<std::int64_t>(i) * hour,
                                "v" + std::to_string(i), "/"));
  }
  const auto forgotten = apply_one(tracker, pageview(1, t0 + 20 * minute, "k5", "/"));
  CHECK(forgotten.before.empty());
  CHECK(forgotten.after.visit_id == "k5");
  const auto remembered = apply_one(tracker, pageview(1, t0 + 30 * hour + 10 * minute, "k6", "/"));
  CHECK(remembered.before.size() == 1);
}

TEST_CASE("an interactive custom event makes a one-pageview visit a non-bounce") {
  auto redis = connect();
  const auto keys = fresh_keys();
  visits::tracker tracker(redis, keys);

  apply_one(tracker, pageview(1, t0, "p1", "/"));
  const auto passive = apply_one(tracker, custom(1, t0 + second, "c1", false));
  CHECK(passive.after.bounce);
  CHECK(passive.after.events == 1);
  CHECK(passive.after.pageviews == 1);

  const auto interactive = apply_one(tracker, custom(1, t0 + 2 * second, "c2", true));
  REQUIRE(interactive.before.size() == 1);
  CHECK(interactive.before[0].bounce);
  CHECK_FALSE(interactive.after.bounce);
  CHECK(interactive.after.events == 2);
}

TEST_CASE("a retried event gets its first answer back and changes nothing") {
  auto redis = connect();
  const auto keys = fresh_keys();
  visits::tracker tracker(redis, keys);

  const auto h1 = pageview(1, t0, "r1", "/");
  const auto h2 = pageview(1, t0 + second, "r2", "/two");
  const auto first = apply_one(tracker, h1);
  const auto second_hit = apply_one(tracker, h2);
  CHECK(apply_one(tracker, h1) == first);
  CHECK(apply_one(tracker, h2) == second_hit);
  // The same event twice within one batch is a retry too.
  const std::vector<visits::hit> batch = {h2, h2};
  const auto both = tracker.apply(batch);
  CHECK(both[0] == second_hit);
  CHECK(both[1] == second_hit);
  CHECK(redis.command({"SCRIPT", "FLUSH"}).type == redis::reply::kind::status);
  CHECK(apply_one(tracker, h1) == first);  // NOSCRIPT: reloaded, same answer

  const auto third = apply_one(tracker, pageview(1, t0 + 2 * second, "r3", "/three"));
  REQUIRE(third.before.size() == 1);
  CHECK(third.before[0] == second_hit.after);
  CHECK(third.after.pageviews == 3);
  CHECK(third.after.exit_page == "/three");
}

TEST_CASE("deltas summed over any processing order equal the visits of the sorted events") {
  auto redis = connect();
  const auto keys = fresh_keys();
  visits::tracker tracker(redis, keys);
  const auto seed = test_seed();
  INFO("PLUMB_TEST_SEED=" << seed);
  std::mt19937_64 rng(seed);
  std::uint64_t visitor = rng() | 1;

  for (int scenario = 0; scenario < 60; ++scenario) {
    // One to three visits, 4-8 events each with gaps of up to 25 minutes (so a visit often spans
    // well over 30 minutes), more than 30 minutes apart. Equal times and one-pageview visits come
    // up often, to exercise the tie-breaks and the bounce flag.
    std::vector<visits::hit> hits;
    const int visit_count = 1 + static_cast<int>(rng() % 3);
    const auto first_at = t0 + static_cast<std::int64_t>(rng() % 1'000);
    std::int64_t at = first_at;
    for (int v = 0; v < visit_count; ++v) {
      if (v > 0) {
        const auto pause = rng() % 3;
        at += 30 * minute + (pause == 0 ? 1 : static_cast<std::int64_t>(rng() % (90 * minute)));
      }
      const int count = 4 + static_cast<int>(rng() % 5);
      const bool single_pageview = rng() % 3 == 0;
      for (int i = 0; i < count; ++i) {
        if (i > 0) {
          const auto gap = rng() % 4;
          at += gap == 0   ? 0
                : gap == 1 ? second
                : gap == 2 ? 25 * minute
                           : static_cast<std::int64_t>(rng() % (25 * minute));
        }
        const bool is_pageview = single_pageview ? i == 0 : rng() % 4 != 0;
        visits::hit h = pageview(0, at, uuid(rng), "/p" + std::to_string(rng() % 4),
                                 "ref\x01\xff" + std::to_string(rng() % 3));
        h.pageview = is_pageview;
        h.interactive_event = !is_pageview && rng() % 2 == 0;
        hits.push_back(std::move(h));
      }
    }

    // The truth, from the definitions: the sorted events split where a gap exceeds 30 minutes.
    const auto by_time = [](const visits::hit& a, const visits::hit& b) {
      return std::tie(a.received_ms, a.event_id) < std::tie(b.received_ms, b.event_id);
    };
    auto sorted = hits;
    std::sort(sorted.begin(), sorted.end(), by_time);
    totals truth;
    std::vector<std::pair<std::size_t, std::size_t>> true_visits;  // [begin, end) in sorted
    const auto timeout = std::chrono::milliseconds(visits::visit_timeout).count();
    for (std::size_t begin = 0; begin < sorted.size();) {
      auto end = begin + 1;
      while (end < sorted.size() &&
             sorted[end].received_ms - sorted[end - 1].received_ms <= timeout) {
        ++end;
      }
      visits::snapshot s;
      s.start_ms = sorted[begin].received_ms;
      s.last_ms = sorted[end - 1].received_ms;
      s.entry_page = sorted[begin].page;
      s.exit_page = sorted[end - 1].page;
      s.attribution = sorted[begin].attribution;
      bool any_interactive = false;
      for (auto i = begin; i < end; ++i) {
        (sorted[i].pageview ? s.pageviews : s.events) += 1;
        any_interactive = any_interactive || sorted[i].interactive_event;
      }
      s.bounce = s.pageviews == 1 && !any_interactive;
      truth.add(s, 1);
      true_visits.emplace_back(begin, end);
      begin = end;
    }
    truth = truth.normalized();
    REQUIRE(truth.visits == visit_count);  // the generator keeps its visits apart

    for (int run = 0; run < 8; ++run) {
      auto order = hits;
      if (run == 1) {
        std::reverse(order.begin(), order.end());
      } else if (run > 1) {  // run 0 is the in-order run
        std::shuffle(order.begin(), order.end(), rng);
      }
      // A fresh visitor per run. In half the runs the daily salt changes at one of the events'
      // times: events from then on carry the next day's hash and name the first as previous.
      const auto first_day = ++visitor;
      const auto next_day = ++visitor;
      const auto day_change = rng() % 2 == 0 ? sorted[rng() % sorted.size()].received_ms
                                             : std::numeric_limits<std::int64_t>::max();
      const auto hash_at = [&](std::int64_t when) {
        return when < day_change ? first_day : next_day;
      };
      for (auto& h : order) {
        h.visitor_hash = hash_at(h.received_ms);
        h.previous_visitor_hash = h.visitor_hash == next_day ? first_day : 0;
      }
      // Retries of already applied events, anywhere later: they must repeat their first answer
      // and, counted once like a worker that crashed before committing, change nothing.
      for (int retries = 1 + static_cast<int>(rng() % 3); retries > 0; --retries) {
        const auto from = rng() % order.size();
        const auto to = from + 1 + rng() % (order.size() - from);
        order.insert(order.begin() + static_cast<std::ptrdiff_t>(to), order[from]);
      }
      std::vector<visits::transition> got;
      for (std::size_t start = 0; start < order.size();) {  // batches of 1 to 3
        const auto size = std::min<std::size_t>(1 + rng() % 3, order.size() - start);
        const auto part = tracker.apply(std::span(order).subspan(start, size));
        got.insert(got.end(), part.begin(), part.end());
        start += size;
      }
      std::map<std::string, visits::transition> first_answer;
      totals sum;
      std::map<std::string, std::int64_t> by_visit_id;
      std::map<std::string, visits::snapshot> latest;  // by visit id: its last after snapshot
      for (std::size_t i = 0; i < order.size(); ++i) {
        const auto [it, inserted] = first_answer.emplace(order[i].event_id, got[i]);
        if (inserted) {
          sum.add(got[i]);
          latest[got[i].after.visit_id] = got[i].after;
          by_visit_id[got[i].after.visit_id] += 1;
          for (const auto& before : got[i].before) {
            by_visit_id[before.visit_id] -= 1;
          }
        } else {
          CHECK(it->second == got[i]);
        }
      }
      INFO("scenario " << scenario << " run " << run);
      CHECK(sum.normalized() == truth);
      // Each finished visit is left counted once, under one id.
      std::erase_if(by_visit_id, [](const auto& kv) { return kv.second == 0; });
      CHECK(static_cast<std::int64_t>(by_visit_id.size()) == truth.visits);
      for (const auto& [id, n] : by_visit_id) {
        CHECK(n == 1);
      }
      // Each finished visit names exactly the distinct hashes of its events, ascending.
      for (const auto& [begin, end] : true_visits) {
        std::set<std::uint64_t> hashes;
        for (auto i = begin; i < end; ++i) {
          hashes.insert(hash_at(sorted[i].received_ms));
        }
        const auto start = sorted[begin].received_ms;
        const auto found =
            std::find_if(by_visit_id.begin(), by_visit_id.end(),
                         [&](const auto& kv) { return latest.at(kv.first).start_ms == start; });
        REQUIRE(found != by_visit_id.end());
        CHECK(latest.at(found->first).visitor_hashes ==
              std::vector<std::uint64_t>(hashes.begin(), hashes.end()));
      }
    }
  }
}

TEST_CASE("a visit across midnight is one visit in every processing order") {
  auto redis = connect();
  const auto keys = fresh_keys();
  visits::tracker tracker(redis, keys);

  std::uint64_t next_hash = 0x5000;
  std::vector<int> order = {0, 1, 2};
  do {
    const auto h0 = ++next_hash, h1 = ++next_hash, h2 = ++next_hash;
    std::vector<visits::hit> hits = {pageview(h1, midnight - 20 * minute, "n1", "/a", "src"),
                                     pageview(h1, midnight - 5 * minute, "n2", "/b"),
                                     pageview(h2, midnight + 10 * minute, "n3", "/c")};
    hits[0].previous_visitor_hash = h0;
    hits[1].previous_visitor_hash = h0;
    hits[2].previous_visitor_hash = h1;
    totals sum;
    visits::transition last;
    std::map<int, visits::transition> answers;
    for (const auto i : order) {
      last = apply_one(tracker, hits[static_cast<std::size_t>(i)]);
      answers[i] = last;
      sum.add(last);
    }
    INFO("order " << order[0] << order[1] << order[2]);
    const auto got = sum.normalized();
    CHECK(got.visits == 1);
    CHECK(got.bounces == 0);
    CHECK(got.duration_ms == 30 * minute);
    CHECK(got.pageviews == 3);
    CHECK(got.entries == std::map<std::string, std::int64_t>{{"/a", 1}});
    CHECK(got.exits == std::map<std::string, std::int64_t>{{"/c", 1}});
    CHECK(got.by_attribution == std::map<std::string, std::int64_t>{{"src", 1}});
    CHECK(last.after.pageviews == 3);
    CHECK(last.after.visitor_hashes == std::vector<std::uint64_t>{h1, h2});
    // Retries after the fact, under either day's key, repeat their answers.
    for (int i = 0; i < 3; ++i) {
      CHECK(apply_one(tracker, hits[static_cast<std::size_t>(i)]) == answers.at(i));
    }
    // The visit is stored under the key of its latest event's day only (src/visit.lua), so the
    // next day's events, which look back one day, find it.
    const auto stored_under = [&](std::uint64_t hash) {
      char hex[17];
      std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
      const auto key = keys.prefix() + "visit:{" + std::to_string(site) + "}:" + hex;
      return redis.command({"HEXISTS", key, "vs"}).integer == 1;
    };
    CHECK(stored_under(h2));
    CHECK_FALSE(stored_under(h1));
    // A fourth event of the same visit, after everything, extends the one merged visit.
    auto more = pageview(h2, midnight + 20 * minute, "n4", "/d");
    more.previous_visitor_hash = h1;
    const auto extended = apply_one(tracker, more);
    REQUIRE(extended.before.size() == 1);
    CHECK(extended.before[0].pageviews == 3);
    CHECK(extended.after.pageviews == 4);
    CHECK(extended.before[0].visitor_hashes == std::vector<std::uint64_t>{h1, h2});
    CHECK(extended.after.visitor_hashes == std::vector<std::uint64_t>{h1, h2});
  } while (std::next_permutation(order.begin(), order.end()));
}

TEST_CASE("a visit open at midnight continues under the next day's visitor hash") {
  auto redis = connect();
  const auto keys = fresh_keys();
  visits::tracker tracker(redis, keys);

  const std::uint64_t yesterday = 0x1111, today = 0x2222;
  const auto opened = apply_one(tracker, pageview(yesterday, midnight - 10 * minute, "m1", "/a"));
  auto next = pageview(today, midnight + 5 * minute, "m2", "/b");
  next.previous_visitor_hash = yesterday;
  const auto continued = apply_one(tracker, next);
  REQUIRE(continued.before.size() == 1);
  CHECK(continued.before[0] == opened.after);
  CHECK(continued.after.visit_id == "m1");
  CHECK(continued.after.pageviews == 2);
  CHECK(continued.after.duration_ms() == 15 * minute);
  CHECK(opened.after.visitor_hashes == std::vector<std::uint64_t>{yesterday});
  CHECK(continued.after.visitor_hashes == std::vector<std::uint64_t>{yesterday, today});
  CHECK(apply_one(tracker, next) == continued);  // the cache moved with the visit

  // A visitor whose yesterday's visit ended long ago starts a new one.
  const auto old = apply_one(tracker, pageview(0x3333, midnight - 60 * minute, "o1", "/a"));
  auto late = pageview(0x4444, midnight + 5 * minute, "o2", "/b");
  late.previous_visitor_hash = 0x3333;
  const auto fresh = apply_one(tracker, late);
  CHECK(fresh.before.empty());
  CHECK(fresh.after.visit_id == "o2");
  CHECK(old.after.visit_id == "o1");
  CHECK(fresh.after.visitor_hashes == std::vector<std::uint64_t>{0x4444});  // not yesterday's
}

TEST_CASE("merged visits carry the union of their parts' visitor hashes, ascending") {
  auto redis = connect();
  const auto keys = fresh_keys();
  visits::tracker tracker(redis, keys);

  // Yesterday's hash is numerically the larger (and has the top bit set), so ascending order is
  // not processing order.
  const std::uint64_t yesterday = 0xf000'0000'0000'0001, today = 0x1000;
  const auto evening = apply_one(tracker, pageview(yesterday, midnight - 40 * minute, "g1", "/a"));
  auto morning_hit = pageview(today, midnight + 5 * minute, "g2", "/b");
  morning_hit.previous_visitor_hash = yesterday;
  const auto morning = apply_one(tracker, morning_hit);
  CHECK(morning.before.empty());  // 45 minutes apart: two visits so far
  CHECK(evening.after.visitor_hashes == std::vector<std::uint64_t>{yesterday});
  CHECK(morning.after.visitor_hashes == std::vector<std::uint64_t>{today});

  // A late event of yesterday bridges them.
  const auto bridge = apply_one(tracker, pageview(yesterday, midnight - 15 * minute, "g3", "/c"));
  REQUIRE(bridge.before.size() == 2);
  CHECK(bridge.before[0] == evening.after);
  CHECK(bridge.before[1] == morning.after);
  CHECK(bridge.after.visit_id == "g1");
  CHECK(bridge.after.pageviews == 3);
  CHECK(bridge.after.visitor_hashes == std::vector<std::uint64_t>{today, yesterday});

  // Merging parts that share a hash keeps it once.
  const auto apart = apply_one(tracker, pageview(today, midnight + 50 * minute, "g4", "/d"));
  CHECK(apart.before.empty());
  auto join_hit = pageview(today, midnight + 30 * minute, "g5", "/e");
  join_hit.previous_visitor_hash = yesterday;
  const auto joined = apply_one(tracker, join_hit);
  REQUIRE(joined.before.size() == 2);
  CHECK(joined.before[1].visitor_hashes == std::vector<std::uint64_t>{today});
  CHECK(joined.after.pageviews == 5);
  CHECK(joined.after.visitor_hashes == std::vector<std::uint64_t>{today, yesterday});
  CHECK(apply_one(tracker, join_hit) == joined);  // the cached reply keeps them too
}

TEST_CASE("current visitors are the distinct visitors of the last five minutes") {
  auto redis = connect();
  const auto keys = fresh_keys();
  visits::tracker tracker(redis, keys);

  CHECK(tracker.current_visitors(site, t0) == 0);
  apply_one(tracker, pageview(1, t0 - 10 * minute, "v1", "/"));  // too old by now
  apply_one(tracker, pageview(2, t0 - 4 * minute, "v2", "/"));
  apply_one(tracker, pageview(2, t0 - 1 * minute, "v3", "/"));
  apply_one(tracker, pageview(3, t0 - 2 * minute, "v4", "/"));
  apply_one(tracker, pageview(2, t0 - 8 * minute, "v5", "/"));  // late: keeps visitor 2's latest
  CHECK(tracker.current_visitors(site, t0) == 2);
  CHECK(tracker.current_visitors(site, t0 + 3 * minute + 30 * second) == 1);
  CHECK(tracker.current_visitors(site + 1, t0) == 0);
}

TEST_CASE("a batch of 1000 hits is applied in one call, in order") {
  auto redis = connect();
  const auto keys = fresh_keys();
  visits::tracker tracker(redis, keys);

  std::vector<visits::hit> hits;
  for (int i = 0; i < 1'000; ++i) {
    const auto visitor = static_cast<std::uint64_t>(i % 100 + 1);
    hits.push_back(
        pageview(visitor, t0 + i * second, "b" + std::to_string(i), "/" + std::to_string(i)));
  }
  const auto got = tracker.apply(hits);
  REQUIRE(got.size() == 1'000);
  for (int i = 0; i < 1'000; ++i) {
    const auto& t = got[static_cast<std::size_t>(i)];
    CHECK(t.before.size() == (i >= 100 ? 1U : 0U));
    CHECK(t.after.pageviews == i / 100 + 1);
    CHECK(t.after.visit_id == "b" + std::to_string(i % 100));
    CHECK(t.after.exit_page == "/" + std::to_string(i));
  }
  CHECK(tracker.current_visitors(site, t0 + 999 * second) == 100);
}

TEST_CASE("a batch over several sites gives the transitions of applying its hits one by one") {
  auto redis = connect();
  const auto batched_keys = fresh_keys();
  const auto single_keys = fresh_keys();
  visits::tracker batched(redis, batched_keys);
  visits::tracker single(redis, single_keys);
  const auto seed = test_seed();
  INFO("PLUMB_TEST_SEED=" << seed);
  std::mt19937_64 rng(seed);

  // Three sites, few visitors (so one run sees a visitor's hits extend, open and merge visits),
  // times spread over two hours around midnight in random order, some visitors continuing under
  // the next day's hash, and retries of earlier hits.
  const std::vector<std::int64_t> sites = {11, 12, 13};
  std::vector<visits::hit> hits;
  for (int i = 0; i < 400; ++i) {
    if (!hits.empty() && rng() % 10 == 0) {
      hits.push_back(hits[rng() % hits.size()]);
      continue;
    }
    const auto visitor = 1 + rng() % 6;
    const auto at = midnight - hour + static_cast<std::int64_t>(rng() % (2 * hour));
    auto h = pageview(at < midnight ? visitor : visitor + 100, at, uuid(rng),
                      "/p" + std::to_string(rng() % 5), "src" + std::to_string(rng() % 3));
    h.site_id = sites[rng() % sites.size()];
    if (at >= midnight && rng() % 2 == 0) {
      h.previous_visitor_hash = visitor;
    }
    if (rng() % 4 == 0) {
      h.pageview = false;
      h.interactive_event = rng() % 2 == 0;
    }
    hits.push_back(std::move(h));
  }

  std::vector<visits::transition> expected;
  for (const auto& h : hits) {
    expected.push_back(apply_one(single, h));
  }
  std::vector<visits::transition> got;
  for (std::size_t start = 0; start < hits.size(); start += 100) {
    const auto part = batched.apply(std::span(hits).subspan(start, 100));
    got.insert(got.end(), part.begin(), part.end());
  }
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < hits.size(); ++i) {
    INFO("hit " << i);
    CHECK(got[i] == expected[i]);
  }
  // The live sets end equal, member by member and score by score.
  for (const auto site_id : sites) {
    const auto live = [&](const events::keys& keys) {
      const auto key = keys.prefix() + "live:{" + std::to_string(site_id) + "}";
      std::vector<std::string> out;
      for (const auto& e : redis.command({"ZRANGE", key, "0", "-1", "WITHSCORES"}).elements) {
        out.push_back(e.str);
      }
      return out;
    };
    CHECK(live(batched_keys) == live(single_keys));
    for (std::int64_t now = midnight - hour; now <= midnight + 2 * hour; now += 7 * minute) {
      CHECK(batched.current_visitors(site_id, now) == single.current_visitors(site_id, now));
    }
  }
}

namespace {

// Redis's own accounting, for the benchmark: CPU seconds of the server process and, per command,
// calls and microseconds (commands run inside scripts count under their own names too).
struct redis_usage {
  double cpu_seconds = 0;
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> commands;  // calls, usec

  static redis_usage read(redis::connection& redis) {
    redis_usage out;
    const auto field = [](const std::string& line, const std::string& name) {
      const auto at = line.find(name + "=");
      return at == std::string::npos ? std::int64_t{0}
                                     : std::stoll(line.substr(at + name.size() + 1));
    };
    std::istringstream cpu(redis.command({"INFO", "CPU"}).str);
    for (std::string line; std::getline(cpu, line);) {
      if (line.starts_with("used_cpu_sys:") || line.starts_with("used_cpu_user:")) {
        out.cpu_seconds += std::stod(line.substr(line.find(':') + 1));
      }
    }
    std::istringstream stats(redis.command({"INFO", "COMMANDSTATS"}).str);
    for (std::string line; std::getline(stats, line);) {
      if (line.starts_with("cmdstat_")) {
        const auto colon = line.find(':');
        out.commands[line.substr(8, colon - 8)] = {field(line, "calls"), field(line, "usec")};
      }
    }
    return out;
  }
};

}  // namespace

// Hidden (run with "[.bench]"): Redis CPU per hit for a worker-like load. Prints, asserts nothing;
// the Redis server is shared, so run it on an otherwise idle server and compare runs of one build.
TEST_CASE("benchmark: Redis CPU per hit of batched apply()", "[.bench]") {
  auto redis = connect();
  const auto keys = fresh_keys();
  visits::tracker tracker(redis, keys);
  std::mt19937_64 rng(test_seed());

  // PLUMB_VISITS_BENCH_HITS scales the run down (e.g. under valgrind); visitors scale along.
  const char* hits_env = std::getenv("PLUMB_VISITS_BENCH_HITS");
  const int hit_count = hits_env ? std::max(1'000, std::atoi(hits_env)) : 50'000;
  const int visitor_count = hit_count / 10;
  constexpr int site_count = 10, batch = 1'000;
  std::vector<std::uint64_t> visitors(static_cast<std::size_t>(visitor_count));
  for (auto& v : visitors) {
    v = rng() | 1;
  }
  // Events arrive in time order, 36 ms apart (30 minutes in all), from random visitors: about ten
  // per visitor, most joining the visitor's open visit.
  std::vector<visits::hit> hits;
  hits.reserve(static_cast<std::size_t>(hit_count));
  for (int i = 0; i < hit_count; ++i) {
    const auto v = static_cast<std::size_t>(rng() % static_cast<std::uint64_t>(visitor_count));
    auto h = pageview(visitors[v], t0 + i * 36, uuid(rng), "/page/" + std::to_string(rng() % 50),
                      "https://referrer.example/" + std::to_string(rng() % 20));
    h.site_id = 1'000 + static_cast<std::int64_t>(v % site_count);
    if (rng() % 5 == 0) {
      h.pageview = false;
      h.interactive_event = rng() % 2 == 0;
    }
    hits.push_back(std::move(h));
  }

  const auto before = redis_usage::read(redis);
  const auto started = std::chrono::steady_clock::now();
  for (std::size_t start = 0; start < hits.size(); start += batch) {
    const auto size = std::min<std::size_t>(batch, hits.size() - start);
    tracker.apply(std::span(hits).subspan(start, size));
  }
  const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - started;
  const auto after = redis_usage::read(redis);

  const auto per_hit = [&](double total) { return total / hit_count; };
  std::cout << "visits bench: " << hit_count << " hits, " << visitor_count << " visitors, "
            << site_count << " sites, batches of " << batch << "\n"
            << "  wall " << wall.count() << " s (" << hit_count / wall.count() << " hits/s)\n"
            << "  redis cpu (sys+user) " << per_hit((after.cpu_seconds - before.cpu_seconds) * 1e6)
            << " us/hit\n";
  for (const auto& [name, now] : after.commands) {
    const auto it = before.commands.find(name);
    const auto was =
        it == before.commands.end() ? std::pair<std::int64_t, std::int64_t>{} : it->second;
    const auto calls = now.first - was.first;
    if (calls > 0 && name != "info") {
      std::cout << "  " << name << ": " << per_hit(static_cast<double>(calls)) << " calls/hit, "
                << per_hit(static_cast<double>(now.second - was.second)) << " us/hit\n";
    }
  }
  std::cout.flush();
}

TEST_CASE("in time order, the in-memory tracker answers exactly as the Redis one") {
  auto redis = connect();
  visits::tracker tracker(redis, fresh_keys());
  visits::in_order_tracker in_memory;
  const auto seed = test_seed();
  INFO("PLUMB_TEST_SEED=" << seed);
  std::mt19937_64 rng(seed);

  // Twelve visitors over two days, ten minutes before midnight to well after it: gaps from none
  // (ties, broken by event id) to over an hour, visitors that cross midnight (their hits after it
  // carry today's hash and yesterday's as previous), custom events interactive or not.
  std::vector<std::uint64_t> yesterday(12), today(12);
  for (std::size_t v = 0; v < 12; ++v) {
    yesterday[v] = rng() | 1;
    today[v] = rng() | 1;
  }
  std::vector<visits::hit> hits;
  std::int64_t at = midnight - 10 * minute;
  for (int i = 0; i < 600; ++i) {
    const auto step = rng() % 5;
    at += step == 0 ? 0 : step == 1 ? second : static_cast<std::int64_t>(rng() % (4 * minute));
    const auto v = rng() % 12;
    visits::hit h = pageview(at < midnight ? yesterday[v] : today[v], at, uuid(rng),
                             "/p" + std::to_string(rng() % 5), "ref" + std::to_string(rng() % 3));
    if (at >= midnight) {
      h.previous_visitor_hash = yesterday[v];
    }
    h.pageview = rng() % 4 != 0;
    h.interactive_event = !h.pageview && rng() % 2 == 0;
    hits.push_back(std::move(h));
    if (i == 300) {
      at += 45 * minute;  // everyone's visit ends
    }
  }
  // In batches, as bulk loads apply them.
  for (std::size_t from = 0; from < hits.size(); from += 97) {
    const auto part = std::span(hits).subspan(from, std::min<std::size_t>(97, hits.size() - from));
    const auto expected = tracker.apply(part);
    const auto got = in_memory.apply(part);
    REQUIRE(got.size() == expected.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      INFO("hit " << from + i);
      CHECK(got[i] == expected[i]);
    }
  }
  visits::hit late = hits.front();
  late.event_id = uuid(rng);
  CHECK_THROWS_AS(in_memory.apply(std::span(&late, 1)), std::invalid_argument);
}
