#pragma once
// What both paths to the Redis stream report, under the same names: the publisher thread (its
// blocking connection) and the I/O threads' pipeline (stream_writer). Dashboards then read the
// same whichever path carried the events.

#include "plumb/metrics/registry.hpp"

namespace plumb::collector {

struct append_metrics {
  // Registers the metrics, or finds them when the other path registered them first.
  explicit append_metrics(metrics::registry& registry);

  metrics::counter& appended;   // events Redis confirmed
  metrics::histogram& latency;  // seconds per pipelined round trip
  metrics::histogram& batch;    // events per entry (the publisher: per round trip and spool write)
};

}  // namespace plumb::collector
