#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <map>
#include <random>
#include <set>

#include "plumb/test_support/environment.hpp"
#include "plumb/visits/tracker.hpp"

using namespace plumb;

namespace {

constexpr std::int64_t site = 7;
constexpr std::int64_t second = 1'000;
constexpr std::int64_t minute = 60 * second;
// 2025-11-21T00:00:00Z: a UTC midnight, for the continuation test.
constexpr std::int64_t midnight = 1'763'683'200'000;
constexpr std::int64_t t0 = midnight + 10 * 60 * minute;

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
    if (t.before) {
      add(*t.before, -1);
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
  CHECK_FALSE(first.before);
  CHECK(first.after.visit_id == "e1");
  CHECK(first.after.bounce);
  CHECK(first.after.pageviews == 1);
  CHECK(first.after.duration_ms() == 0);
  CHECK(first.after.entry_page == "/home");
  CHECK(first.after.exit_page == "/home");
  CHECK(first.after.attribution == "google");

  const auto second_hit = apply_one(tracker, pageview(1, t0 + 10 * second, "e2", "/pricing", "x"));
  REQUIRE(second_hit.before);
  CHECK(*second_hit.before == first.after);
  CHECK(second_hit.after.visit_id == "e1");
  CHECK_FALSE(second_hit.after.bounce);
  CHECK(second_hit.after.pageviews == 2);
  CHECK(second_hit.after.duration_ms() == 10 * second);
  CHECK(second_hit.after.entry_page == "/home");
  CHECK(second_hit.after.exit_page == "/pricing");
  CHECK(second_hit.after.attribution == "google");  // the earliest event's, not the latest
}

TEST_CASE("a gap over 30 minutes opens a new visit, an exact 30-minute gap does not") {
  auto redis = connect();
  const auto keys = fresh_keys();
  visits::tracker tracker(redis, keys);

  apply_one(tracker, pageview(1, t0, "a1", "/"));
  const auto joined = apply_one(tracker, pageview(1, t0 + 30 * minute, "a2", "/b"));
  CHECK(joined.before);
  CHECK(joined.after.visit_id == "a1");

  const auto next = apply_one(tracker, pageview(1, t0 + 60 * minute + 1, "a3", "/c"));
  CHECK_FALSE(next.before);
  CHECK(next.after.visit_id == "a3");
  CHECK(next.after.pageviews == 1);
  CHECK(next.after.entry_page == "/c");
  CHECK(next.after.start_ms == t0 + 60 * minute + 1);

  // A straggler from long before the stored visit counts on its own and leaves the state alone.
  const auto straggler = apply_one(tracker, pageview(1, t0 - 2 * 60 * minute, "a0", "/old"));
  CHECK_FALSE(straggler.before);
  CHECK(straggler.after.visit_id == "a0");
  CHECK(straggler.after.pageviews == 1);
  const auto after = apply_one(tracker, pageview(1, t0 + 61 * minute, "a4", "/d"));
  REQUIRE(after.before);
  CHECK(after.before->visit_id == "a3");
  CHECK(after.after.pageviews == 2);
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
  REQUIRE(interactive.before);
  CHECK(interactive.before->bounce);
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
  REQUIRE(third.before);
  CHECK(*third.before == second_hit.after);
  CHECK(third.after.pageviews == 3);
  CHECK(third.after.exit_page == "/three");
}

TEST_CASE("deltas summed over any processing order equal the in-order visit") {
  auto redis = connect();
  const auto keys = fresh_keys();
  visits::tracker tracker(redis, keys);
  const auto seed = test_seed();
  INFO("PLUMB_TEST_SEED=" << seed);
  std::mt19937_64 rng(seed);
  std::uint64_t visitor = rng() | 1;

  for (int scenario = 0; scenario < 40; ++scenario) {
    // ~6 events within 30 minutes in all: any order joins them into one visit. Equal times and
    // one-pageview visits come up often, to exercise the tie-breaks and the bounce flag.
    std::vector<visits::hit> hits;
    const int count = 4 + static_cast<int>(rng() % 4);
    const bool single_pageview = rng() % 3 == 0;
    std::int64_t at = t0 + static_cast<std::int64_t>(rng() % 1'000);
    for (int i = 0; i < count; ++i) {
      const auto gap = rng() % 3;
      at += gap == 0 ? 0 : gap == 1 ? second : static_cast<std::int64_t>(rng() % (4 * minute));
      const bool is_pageview = single_pageview ? i == 0 : rng() % 4 != 0;
      visits::hit h = pageview(0, at, uuid(rng), "/p" + std::to_string(rng() % 4),
                               "ref\x01\xff" + std::to_string(i));
      h.pageview = is_pageview;
      h.interactive_event = !is_pageview && rng() % 2 == 0;
      hits.push_back(std::move(h));
    }

    // The truth, from the definitions.
    const auto by_time = [](const visits::hit& a, const visits::hit& b) {
      return std::tie(a.received_ms, a.event_id) < std::tie(b.received_ms, b.event_id);
    };
    const auto& earliest = *std::min_element(hits.begin(), hits.end(), by_time);
    const auto& latest = *std::max_element(hits.begin(), hits.end(), by_time);
    totals truth;
    truth.visits = 1;
    truth.duration_ms = latest.received_ms - earliest.received_ms;
    for (const auto& h : hits) {
      (h.pageview ? truth.pageviews : truth.events) += 1;
    }
    const bool any_interactive =
        std::any_of(hits.begin(), hits.end(), [](const auto& h) { return h.interactive_event; });
    truth.bounces = truth.pageviews == 1 && !any_interactive ? 1 : 0;
    truth.entries[earliest.page] = 1;
    truth.exits[latest.page] = 1;
    truth.by_attribution[earliest.attribution] = 1;

    for (int run = 0; run < 6; ++run) {
      auto order = hits;
      if (run > 0) {  // run 0 is the in-order run
        std::shuffle(order.begin(), order.end(), rng);
      }
      ++visitor;  // a fresh visitor per run
      for (auto& h : order) {
        h.visitor_hash = visitor;
      }
      // Retries of already applied events, anywhere later: they must repeat their first answer
      // and, counted once like a worker that crashed before committing, change nothing.
      const auto retry_at = rng() % order.size();
      order.push_back(order[retry_at]);
      std::vector<visits::transition> got;
      for (std::size_t start = 0; start < order.size();) {  // batches of 1 to 3
        const auto size = std::min<std::size_t>(1 + rng() % 3, order.size() - start);
        const auto part = tracker.apply(std::span(order).subspan(start, size));
        got.insert(got.end(), part.begin(), part.end());
        start += size;
      }
      std::map<std::string, visits::transition> first_answer;
      totals sum;
      for (std::size_t i = 0; i < order.size(); ++i) {
        const auto [it, inserted] = first_answer.emplace(order[i].event_id, got[i]);
        if (inserted) {
          sum.add(got[i]);
        } else {
          CHECK(it->second == got[i]);
        }
      }
      INFO("scenario " << scenario << " run " << run);
      CHECK(sum.normalized() == truth);
      const auto& final_state = first_answer.at(order[order.size() - 2].event_id).after;
      CHECK(final_state.visit_id == first_answer.at(order.front().event_id).after.visit_id);
    }
  }
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
  REQUIRE(continued.before);
  CHECK(*continued.before == opened.after);
  CHECK(continued.after.visit_id == "m1");
  CHECK(continued.after.pageviews == 2);
  CHECK(continued.after.duration_ms() == 15 * minute);
  CHECK(apply_one(tracker, next) == continued);  // the cache moved with the visit

  // A visitor whose yesterday's visit ended long ago starts a new one.
  const auto old = apply_one(tracker, pageview(0x3333, midnight - 60 * minute, "o1", "/a"));
  auto late = pageview(0x4444, midnight + 5 * minute, "o2", "/b");
  late.previous_visitor_hash = 0x3333;
  const auto fresh = apply_one(tracker, late);
  CHECK_FALSE(fresh.before);
  CHECK(fresh.after.visit_id == "o2");
  CHECK(old.after.visit_id == "o1");
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
    CHECK(t.before.has_value() == (i >= 100));
    CHECK(t.after.pageviews == i / 100 + 1);
    CHECK(t.after.visit_id == "b" + std::to_string(i % 100));
    CHECK(t.after.exit_page == "/" + std::to_string(i));
  }
  CHECK(tracker.current_visitors(site, t0 + 999 * second) == 100);
}
