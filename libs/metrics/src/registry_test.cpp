#include "plumb/metrics/registry.hpp"

#include <catch2/catch.hpp>

TEST_CASE("metrics render in Prometheus text format, grouped by name") {
  plumb::metrics::registry r;
  auto& accepted = r.counter("plumb_events_total", "Events by outcome.", R"(outcome="accepted")");
  auto& dropped = r.counter("plumb_events_total", "Events by outcome.", R"(outcome="dropped")");
  r.gauge("plumb_queue_depth", "Queued events.").set(5);
  accepted.inc(3);
  dropped.inc();
  CHECK(&r.counter("plumb_events_total", "Events by outcome.", R"(outcome="accepted")") == &accepted);
  r.gauge_fn("plumb_up", "Always 1.", [] { return 1.0; });

  const std::string text = r.render();
  CHECK(text ==
        "# HELP plumb_events_total Events by outcome.\n"
        "# TYPE plumb_events_total counter\n"
        "plumb_events_total{outcome=\"accepted\"} 3\n"
        "plumb_events_total{outcome=\"dropped\"} 1\n"
        "# HELP plumb_queue_depth Queued events.\n"
        "# TYPE plumb_queue_depth gauge\n"
        "plumb_queue_depth 5\n"
        "# HELP plumb_up Always 1.\n"
        "# TYPE plumb_up gauge\n"
        "plumb_up 1\n");
}

TEST_CASE("histograms render cumulative buckets, sum and count") {
  plumb::metrics::registry r;
  auto& h = r.histogram("plumb_latency_seconds", "Latency.", {0.001, 0.01});
  h.observe(0.0005);
  h.observe(0.005);
  h.observe(0.005);
  h.observe(5);
  CHECK(r.render() ==
        "# HELP plumb_latency_seconds Latency.\n"
        "# TYPE plumb_latency_seconds histogram\n"
        "plumb_latency_seconds_bucket{le=\"0.001\"} 1\n"
        "plumb_latency_seconds_bucket{le=\"0.01\"} 3\n"
        "plumb_latency_seconds_bucket{le=\"+Inf\"} 4\n"
        "plumb_latency_seconds_sum 5.0105000000000004\n"
        "plumb_latency_seconds_count 4\n");
}
