#include "append_metrics.hpp"

namespace plumb::collector {

append_metrics::append_metrics(metrics::registry& registry)
    : appended(registry.counter("plumb_collector_appended_total",
                                "Events appended to the Redis stream.")),
      latency(registry.histogram("plumb_collector_redis_append_seconds",
                                 "Latency of pipelined appends to Redis (one round trip).",
                                 {0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1})),
      batch(registry.histogram(
          "plumb_collector_batch_events",
          "Events per stream entry of the I/O threads' pipeline, per Redis round trip of the "
          "publisher, and per spool write.",
          {1, 10, 50, 100, 250, 500, 1000})) {}

}  // namespace plumb::collector
