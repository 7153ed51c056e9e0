#include "plumb/metrics/registry.hpp"

#include <cstdio>
#include <set>

namespace plumb::metrics {

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
    out += "# TYPE " + head.name + (head.type == kind::counter ? " counter\n" : " gauge\n");
    for (const auto& e : entries_) {
      if (e.name != head.name) {
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
        char buffer[64];
        std::snprintf(buffer, sizeof buffer, "%.17g", e.read());
        out += buffer;
      }
      out += '\n';
    }
  }
  return out;
}

}  // namespace plumb::metrics
