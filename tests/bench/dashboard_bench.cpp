// `scripts/plumb bench dashboard`: p50/p95 latency of the web dashboard's requests over HTTP for
// a large, a median and a tiny site of a bulk-loaded dataset (scripts/lib/bench.sh loads it with
// `plumbctl gen --bulk`), against the naive SQL a raw-events design runs for the same answers
// (COUNT(DISTINCT) … GROUP BY over the raw table, as Umami does), measured in the same run.
// Prints one BENCH line per figure.
//
// Usage: dashboard_bench DSN ROUNDS LARGE_DOMAIN MEDIAN_DOMAIN TINY_DOMAIN
// (the test environment of scripts/plumb test: Redis URL and binaries).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "plumb/storage/tenants.hpp"
#include "plumb/test_support/environment.hpp"
#include "plumb/test_support/process.hpp"

using namespace plumb;
using namespace plumb::test_support;
using clock_type = std::chrono::steady_clock;

namespace {

// Nearest rank: the smallest sample with at least a share p of the samples at or below it (the
// p95 of 20 rounds is the 19th fastest, not the slowest).
double percentile(std::vector<double> ms, double p) {
  std::sort(ms.begin(), ms.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(ms.size()) - 1e-9));
  return ms[std::clamp<std::size_t>(rank, 1, ms.size()) - 1];
}

template <class Fn>
std::vector<double> time_rounds(int rounds, Fn fn) {
  std::vector<double> ms;
  for (int i = 0; i < rounds; ++i) {
    const auto t0 = clock_type::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
  }
  return ms;
}

void bench_line(const std::string& name, double value, const std::string& unit, double baseline,
                const std::string& target) {
  std::printf("BENCH name=%s value=%.2f unit=%s baseline=%.2f ratio=%.3f target=%s\n", name.c_str(),
              value, unit.c_str(), baseline, baseline > 0 ? value / baseline : 0.0, target.c_str());
}

struct view {
  std::string name;
  std::string target;     // request path and query (the site's period appended)
  std::string naive_sql;  // empty: no naive counterpart timed
  std::string target_ms;  // the latency target, for the BENCH line
};

// The views of one site and period. `range` is the SQL condition on e.received_at.
std::vector<view> views_of(const std::string& domain, std::int64_t site_id, const std::string& label,
                           const std::string& period, const std::string& range) {
  const std::string base = "/api/stats/" + domain + "/";
  const std::string site = "e.site_id = " + std::to_string(site_id) + " AND " + range;
  const auto naive_breakdown = [&](const std::string& column) {
    return "SELECT d.value, count(DISTINCT e.visitor_hash) v FROM events e JOIN dimension_values d"
           " ON d.site_id = e.site_id AND d.id = e." + column + " WHERE " + site +
           " GROUP BY d.value ORDER BY v DESC LIMIT 9";
  };
  const std::string unfiltered = label == "365d" ? "<=150ms" : label == "30d" ? "<=50ms" : "info";
  return {
      {"overview_" + label, base + "top-stats?metrics=visitors,visits,pageviews,bounce_rate,visit_duration&" + period,
       "SELECT count(DISTINCT visitor_hash), count(DISTINCT visit_id), count(*) FROM events e WHERE " + site, unfiltered},
      {"timeseries_" + label, base + "main-graph?metrics=visitors,pageviews&" + period,
       "SELECT date_trunc('day', received_at), count(DISTINCT visitor_hash), count(*) FROM events e WHERE " + site +
           " GROUP BY 1",
       unfiltered},
      {"pages_" + label, base + "breakdown?property=event:page&limit=9&" + period, naive_breakdown("page_id"), unfiltered},
      {"sources_" + label, base + "breakdown?property=visit:source&limit=9&" + period, naive_breakdown("source_id"), unfiltered},
      {"countries_" + label, base + "breakdown?property=visit:country&limit=9&" + period, naive_breakdown("country_id"),
       unfiltered},
      {"devices_" + label, base + "breakdown?property=visit:device&limit=9&" + period, naive_breakdown("device_id"),
       unfiltered},
      {"filter_page_" + label, base + "top-stats?metrics=visitors,pageviews,bounce_rate&filters=event:page==/pricing&" + period,
       "", "<=300ms"},
      {"filter_page_contains_" + label, base + "top-stats?metrics=visitors,pageviews&filters=event:page~docs&" + period, "",
       "<=300ms"},
      {"filter_country_" + label, base + "breakdown?property=event:page&limit=9&filters=visit:country==DE&" + period, "",
       "<=300ms"},
      {"filter_source_" + label, base + "top-stats?metrics=visitors,visits&filters=visit:source==Google&" + period, "",
       "<=300ms"},
      {"filter_two_" + label,
       base + "top-stats?metrics=visitors,visits,bounce_rate&filters=visit:source==Google;visit:country==US&" + period, "",
       "<=2000ms"},
  };
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::cerr << "usage: dashboard_bench DSN ROUNDS LARGE_DOMAIN MEDIAN_DOMAIN TINY_DOMAIN\n";
    return 2;
  }
  const std::string dsn = argv[1];
  const int rounds = std::stoi(argv[2]);
  const std::vector<std::pair<std::string, std::string>> sites{
      {"large", argv[3]}, {"median", argv[4]}, {"tiny", argv[5]}};

  pqxx::connection conn(dsn);
  process dashboard(service_binary("dashboard"), {},
                    {{"PLUMB_PG_DSN", dsn},
                     {"PLUMB_REDIS_URL", redis_url()},
                     {"PLUMB_REDIS_PREFIX", unique_name("bench:") + ":"},
                     {"PLUMB_DASHBOARD_LISTEN", "127.0.0.1:0"},
                     // Time every view, however slow, rather than stop at the first timeout.
                     {"PLUMB_DASHBOARD_STATEMENT_TIMEOUT_MS", "120000"},
                     {"PLUMB_DASHBOARD_SECRET", unique_name("bench-secret-") + "-0123456789abcdef"}});
  const auto port = dashboard.wait_for_port();

  // Every view is timed first and the naive baselines run after all of them: a year's naive scan
  // reads gigabytes of events, which pushes the rollups out of the caches, and would make the
  // first round of the next view a cold read that the dashboard's own traffic does not cause.
  struct timed_view {
    std::string size;
    view v;
    std::vector<double> ms;
  };
  std::vector<timed_view> timed;
  int request = 0;
  for (const auto& [size, domain] : sites) {
    std::int64_t site_id = 0;
    std::string key;
    std::string last_day;
    {
      pqxx::work tx(conn);
      const auto site = storage::find_site(tx, domain);
      if (!site) {
        std::cerr << "no site " << domain << " in the benchmark database\n";
        return 1;
      }
      site_id = site->id;
      key = storage::create_api_key(tx, site->account_id, storage::api_scope::stats_read);
      last_day = tx.exec_params1("SELECT (max(received_at) AT TIME ZONE 'UTC')::date::text FROM events WHERE site_id = $1",
                                 site_id)[0]
                     .as<std::string>("");
      tx.commit();
    }
    if (last_day.empty()) {
      std::cerr << size << " site " << domain << " got no events (too small a dataset): skipped\n";
      continue;
    }
    for (const auto& [label, days] : std::vector<std::pair<std::string, int>>{{"7d", 7}, {"30d", 30}, {"365d", 365}}) {
      const std::string first_day = pqxx::work(conn)
                                        .exec_params1("SELECT ($1::date - $2::int + 1)::text", last_day, days)[0]
                                        .as<std::string>();
      const std::string period = "period=custom&date=" + first_day + "," + last_day;
      const std::string range = "e.received_at >= '" + first_day + "' AND e.received_at < '" + last_day +
                                "'::date + 1";
      for (const auto& v : views_of(domain, site_id, label, period, range)) {
        // A distinct `round` parameter (ignored by the API) per request: none is a cache hit.
        const auto ms = time_rounds(rounds, [&] {
          const auto target = v.target + "&round=" + std::to_string(++request);
          const auto reply = http_request("GET", port, target, "", {{"Authorization", "Bearer " + key}});
          if (reply.status != 200) {
            throw std::runtime_error(v.target + " answered " + std::to_string(reply.status) + ": " + reply.body +
                                     "\ndashboard log:\n" + dashboard.output());
          }
        });
        timed.push_back({size, v, ms});
      }
    }
  }
  double large_overview_p50 = 0;
  double large_naive_overview_p50 = 0;
  for (const auto& [size, v, ms] : timed) {
    double naive = 0;
    if (!v.naive_sql.empty()) {
      naive = percentile(
          time_rounds(std::max(3, rounds / 5), [&] { pqxx::nontransaction(conn).exec(v.naive_sql); }), 0.5);
    }
    std::printf("%-7s %-26s p50 %9.2f ms  p95 %9.2f ms  naive p50 %9.2f ms\n", size.c_str(), v.name.c_str(),
                percentile(ms, 0.5), percentile(ms, 0.95), naive);
    bench_line("dashboard_" + size + "_" + v.name + "_p95", percentile(ms, 0.95), "ms", naive,
               size == "large" ? v.target_ms : "info");
    if (size == "large" && v.name == "overview_30d") {
      large_overview_p50 = percentile(ms, 0.5);
      large_naive_overview_p50 = naive;
    }
  }
  // The headline: how many times faster the largest site's unfiltered 30-day overview is than
  // the naive query answering it.
  bench_line("overview_vs_naive", large_naive_overview_p50 / std::max(large_overview_p50, 0.001), "x", 1, ">=50x");
  return dashboard.stop() == 0 ? 0 : 1;
}
