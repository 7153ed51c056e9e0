// `scripts/plumb bench dashboard`: p50/p95 latency of the web dashboard's requests over HTTP on a
// generated site, against the naive SQL a raw-events design runs for the same answers
// (COUNT(DISTINCT) … GROUP BY over the raw table), measured in the same run. Prints BENCH lines.
//
// Usage: dashboard_bench EVENTS DAYS ROUNDS (the test environment of scripts/plumb test).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "plumb/datagen/generator.hpp"
#include "plumb/storage/migrations.hpp"
#include "plumb/storage/tenants.hpp"
#include "plumb/test_support/environment.hpp"
#include "plumb/test_support/process.hpp"
#include "stored_truth.hpp"

using namespace plumb;
using namespace plumb::test_support;
using clock_type = std::chrono::steady_clock;

namespace {

// 2025-01-01T00:00Z: the generated year ends before any day the benchmark runs.
constexpr std::int64_t start_ms = 1'735'689'600'000;

double percentile(std::vector<double> ms, double p) {
  std::sort(ms.begin(), ms.end());
  return ms[std::min(ms.size() - 1, static_cast<std::size_t>(p * static_cast<double>(ms.size())))];
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

void bench_line(const std::string& name, double value, const std::string& unit, double baseline, const std::string& target) {
  std::printf("BENCH name=%s value=%.2f unit=%s baseline=%.2f ratio=%.3f target=%s\n", name.c_str(), value, unit.c_str(),
              baseline, baseline > 0 ? value / baseline : 0.0, target.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  const std::int64_t events = argc > 1 ? std::stoll(argv[1]) : 1'000'000;
  const std::int64_t days = argc > 2 ? std::stoll(argv[2]) : 365;
  const int rounds = argc > 3 ? std::stoi(argv[3]) : 20;

  scoped_database db;
  pqxx::connection conn(db.dsn());
  storage::migrate(conn);
  std::string key;
  datagen::options opts;
  {
    pqxx::work tx(conn);
    const auto owner = storage::create_account(tx, "owner@bench.example", "a long password");
    const auto site = storage::create_site(tx, owner.id, "bench.example", "UTC");
    key = storage::create_api_key(tx, owner.id, storage::api_scope::stats_read);
    tx.commit();
    opts.sites.push_back({site.id, "bench.example", 1});
  }
  opts.start_ms = start_ms;
  opts.days = days;
  opts.target_events = events;
  std::cerr << "generating and storing " << events << " events over " << days << " days\n";
  const auto t0 = clock_type::now();
  {
    const auto data = datagen::generate(opts);
    store_generated(conn, data, index_hits(data));
  }
  pqxx::nontransaction(conn).exec("VACUUM ANALYZE");
  std::cerr << "stored in " << std::chrono::duration<double>(clock_type::now() - t0).count() << " s\n";

  process dashboard(service_binary("dashboard"), {},
                    {{"PLUMB_PG_DSN", db.dsn()},
                     {"PLUMB_REDIS_URL", redis_url()},
                     {"PLUMB_REDIS_PREFIX", unique_name("bench:") + ":"},
                     {"PLUMB_DASHBOARD_LISTEN", "127.0.0.1:0"},
                     {"PLUMB_DASHBOARD_SECRET", unique_name("bench-secret-") + "-0123456789abcdef"}});
  const auto port = dashboard.wait_for_port();

  // Every request carries a distinct `round` parameter (ignored by the API) so none is a cache hit.
  const std::string last_day = "2025-12-31";
  struct view {
    std::string name, target, naive_sql;
  };
  const std::string base = "/api/stats/bench.example/";
  const std::string range30 = "e.received_at >= '2025-12-02' AND e.received_at < '2026-01-01'";
  const std::string range365 = "e.received_at >= '2025-01-01' AND e.received_at < '2026-01-01'";
  const auto naive_overview = [](const std::string& range) {
    // What Umami-style designs run: distinct visitors, visits and pageviews from the raw table.
    return "SELECT count(DISTINCT visitor_hash), count(DISTINCT visit_id), count(*) FROM events e WHERE site_id = 1 AND " + range;
  };
  const auto naive_breakdown = [](const std::string& range, const std::string& column) {
    return "SELECT d.value, count(DISTINCT e.visitor_hash) v FROM events e JOIN dimension_values d ON d.site_id = e.site_id"
           " AND d.id = e." + column + " WHERE e.site_id = 1 AND " + range + " GROUP BY d.value ORDER BY v DESC LIMIT 9";
  };
  std::vector<view> views;
  for (const auto& [label, period, range] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"30d", "period=30d&date=" + last_day, range30}, {"365d", "period=custom&date=2025-01-01," + last_day, range365}}) {
    views.push_back({"overview_" + label, base + "top-stats?metrics=visitors,visits,pageviews,bounce_rate,visit_duration&" + period,
                     naive_overview(range)});
    views.push_back({"timeseries_" + label, base + "main-graph?metrics=visitors,pageviews&" + period,
                     "SELECT date_trunc('day', received_at), count(DISTINCT visitor_hash), count(*) FROM events e WHERE site_id = 1 AND " +
                         range + " GROUP BY 1"});
    views.push_back({"pages_" + label, base + "breakdown?property=event:page&limit=9&" + period, naive_breakdown(range, "page_id")});
    views.push_back({"sources_" + label, base + "breakdown?property=visit:source&limit=9&" + period, naive_breakdown(range, "source_id")});
    views.push_back({"countries_" + label, base + "breakdown?property=visit:country&limit=9&" + period, naive_breakdown(range, "country_id")});
    views.push_back({"devices_" + label, base + "breakdown?property=visit:device&limit=9&" + period, naive_breakdown(range, "device_id")});
    views.push_back({"filter_page_" + label, base + "top-stats?metrics=visitors,pageviews,bounce_rate&filters=event:page==/pricing&" + period, ""});
    views.push_back({"filter_page_contains_" + label, base + "top-stats?metrics=visitors,pageviews&filters=event:page~docs&" + period, ""});
    views.push_back({"filter_country_" + label, base + "breakdown?property=event:page&limit=9&filters=visit:country==DE&" + period, ""});
    views.push_back({"filter_two_" + label, base + "top-stats?metrics=visitors,visits,bounce_rate&filters=visit:source==Google;visit:country==US&" + period, ""});
  }
  double overview_p95 = 0;
  double naive_overview_p50 = 0;
  double overview_p50 = 0;
  int request = 0;
  for (const auto& v : views) {
    const auto ms = time_rounds(rounds, [&] {
      const auto target = v.target + "&round=" + std::to_string(++request);
      const auto reply = http_request("GET", port, target, "", {{"Authorization", "Bearer " + key}});
      if (reply.status != 200) {
        throw std::runtime_error(v.target + " answered " + std::to_string(reply.status) + ": " + reply.body +
                                 "\ndashboard log:\n" + dashboard.output());
      }
    });
    double naive = 0;
    if (!v.naive_sql.empty()) {
      naive = percentile(time_rounds(std::max(3, rounds / 5), [&] { pqxx::nontransaction(conn).exec(v.naive_sql); }), 0.5);
    }
    std::printf("%-28s p50 %8.2f ms  p95 %8.2f ms  naive p50 %8.2f ms\n", v.name.c_str(), percentile(ms, 0.5),
                percentile(ms, 0.95), naive);
    bench_line("dashboard_" + v.name + "_p95", percentile(ms, 0.95), "ms", naive, "info");
    if (v.name == "overview_365d") {
      overview_p95 = percentile(ms, 0.95);
      overview_p50 = percentile(ms, 0.5);
      naive_overview_p50 = naive;
    }
  }
  // The headline: how many times faster the unfiltered overview is than the naive query.
  bench_line("overview_vs_naive", naive_overview_p50 / std::max(overview_p50, 0.001), "x", 1, ">=50x");
  bench_line("overview_365d_p95", overview_p95, "ms", naive_overview_p50, "<=150ms");
  return dashboard.stop() == 0 ? 0 : 1;
}
