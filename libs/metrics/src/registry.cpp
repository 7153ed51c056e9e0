#include "plumb/metrics/registry.hpp"

#include <cstdio>
#include <set>

namespace plumb::metrics {

namespace {
std::string format_double(double v) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.17g", v);
  return buffer;
}
}  // namespace

histogram::histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {}

void histogram::observe(double value) {
  std::size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) {
    ++i;
  }
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  double sum = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(sum, sum + value, std::memory_order_relaxed)) {
  }
}

std::string histogram::render(const std::string& name, const std::string& labels) const {
  const std::string sep = labels.empty() ? "" : labels + ",";
  std::string out;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    const std::string le = i < bounds_.size() ? format_double(bounds_[i]) : "+Inf";
    out += name + "_bucket{" + sep + "le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out += name + "_sum" + braces + " " + format_double(sum_.load(std::memory_order_relaxed)) + "\n";
  out += name + "_count" + braces + " " + std::to_string(count_.load(std::memory_order_relaxed)) + "\n";
  return out;
}

registry::entry* registry::find(std::string_view name, std::string_view labels) {
  for (auto& e : entries_) {
    if (e.name == name && e.labels == labels) {
      return &e;
    }
  }
  return nullptr;
}

counter& registry::counter(std::string_view name, std::string_view help, std::string_view labels) {
  const std::lock_guard lock(mutex_);
  if (auto* e = find(name, labels); e != nullptr && e->c != nullptr) {
    return *e->c;
  }
  auto& c = counters_.emplace_back();
  entries_.push_back({std::string(name), std::string(help), std::string(labels), kind::counter, &c,
                      nullptr, {}});
  return c;
}

gauge& registry::gauge(std::string_view name, std::string_view help, std::string_view labels) {
  const std::lock_guard lock(mutex_);
  if (auto* e = find(name, labels); e != nullptr && e->g != nullptr) {
    return *e->g;
  }
  auto& g = gauges_.emplace_back();
  entries_.push_back({std::string(name), std::string(help), std::string(labels), kind::gauge,
                      nullptr, &g, {}});
  return g;
}

histogram& registry::histogram(std::string_view name, std::string_view help,
                               std::vector<double> upper_bounds, std::string_view labels) {
  const std::lock_guard lock(mutex_);
  if (auto* e = find(name, labels); e != nullptr && e->h != nullptr) {
    return *e->h;
  }
  auto& h = histograms_.emplace_back(std::move(upper_bounds));
  entry e{std::string(name), std::string(help), std::string(labels), kind::histogram, nullptr, nullptr, {}};
  e.h = &h;
  entries_.push_back(std::move(e));
  return h;
}

void registry::gauge_fn(std::string_view name, std::string_view help, std::function<double()> read) {
  const std::lock_guard lock(mutex_);
  entries_.push_back(
      {std::string(name), std::string(help), {}, kind::gauge, nullptr, nullptr, std::move(read)});
}

std::string registry::render() const {
  const std::lock_guard lock(mutex_);
  std::string out;
  std::set<std::string> described;
  // Prometheus wants all samples of one name together, after its HELP and TYPE lines.
  for (const auto& head : entries_) {
    if (!described.insert(head.name).second) {
      continue;
    }
    out += "# HELP " + head.name + " " + head.help + "\n";
    static constexpr const char* type_names[] = {" counter\n", " gauge\n", " histogram\n"};
    out += "# TYPE " + head.name + type_names[static_cast<int>(head.type)];
    for (const auto& e : entries_) {
      if (e.name != head.name) {
        continue;
      }
      if (e.h != nullptr) {
        out += e.h->render(e.name, e.labels);
        continue;
      }
      out += e.name;
      if (!e.labels.empty()) {
        out += "{" + e.labels + "}";
      }
      out += ' ';
      if (e.c != nullptr) {
        out += std::to_string(e.c->value());
      } else if (e.g != nullptr) {
        out += std::to_string(e.g->value());
      } else {
        out += format_double(e.read());
      }
      out += '\n';
    }
  }
  return out;
}

}  // namespace plumb::metrics
