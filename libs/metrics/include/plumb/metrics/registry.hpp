#pragma once
// Counters and gauges rendered in the Prometheus text exposition format (version 0.0.4) for
// every service's GET /metrics. Updating a metric is one relaxed atomic add: safe on hot paths.

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <vector>
#include <mutex>
#include <string>
#include <string_view>

namespace plumb::metrics {

class counter {
 public:
  void inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class gauge {
 public:
  void set(std::int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void add(std::int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// Cumulative histogram with fixed upper bounds (Prometheus "le" buckets). observe() is lock-free.
class histogram {
 public:
  explicit histogram(std::vector<double> upper_bounds);
  void observe(double value);
  // Cumulative counts per bound (last = +Inf), the sum and the count, for rendering.
  std::string render(const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // one per bound, plus +Inf
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

class registry {
 public:
  // Registers (or returns the already registered) metric. `labels` is the inner part of a label
  // set, e.g. `reason="unknown_site"`; the same name may carry several label sets. References
  // stay valid for the registry's lifetime.
  metrics::counter& counter(std::string_view name, std::string_view help,
                            std::string_view labels = {});
  metrics::gauge& gauge(std::string_view name, std::string_view help,
                        std::string_view labels = {});
  metrics::histogram& histogram(std::string_view name, std::string_view help,
                                std::vector<double> upper_bounds, std::string_view labels = {});
  // A gauge read at render time (queue depth, pool size…).
  void gauge_fn(std::string_view name, std::string_view help, std::function<double()> read);

  std::string render() const;

 private:
  enum class kind { counter, gauge, histogram };
  struct entry {
    std::string name;
    std::string help;
    std::string labels;
    kind type;
    metrics::counter* c = nullptr;
    metrics::gauge* g = nullptr;
    std::function<double()> read;
    metrics::histogram* h = nullptr;
  };
  entry* find(std::string_view name, std::string_view labels);

  mutable std::mutex mutex_;
  std::deque<entry> entries_;  // deque: stable addresses while registering
  std::deque<metrics::counter> counters_;
  std::deque<metrics::gauge> gauges_;
  std::deque<metrics::histogram> histograms_;
};

}  // namespace plumb::metrics
