#include "stats_api.hpp"

#include <algorithm>
#include <map>
#include <optional>

#include "period.hpp"
#include "plumb/json/writer.hpp"
#include "plumb/storage/stats.hpp"
#include "plumb/storage/tenants.hpp"

namespace plumb::dashboard {
namespace {

// Longest query-string value we look at; anything longer is invalid input anyway.
constexpr std::size_t max_parameter_bytes = 1'000;

const std::map<std::string_view, storage::aggregate_metric>& metric_names() {
  static const std::map<std::string_view, storage::aggregate_metric> names{
      {"visitors", storage::aggregate_metric::visitors},
      {"pageviews", storage::aggregate_metric::pageviews},
      {"events", storage::aggregate_metric::events}};
  return names;
}

std::string parameter(const std::vector<std::pair<std::string, std::string>>& query, std::string_view name) {
  for (const auto& [key, value] : query) {
    if (key == name) {
      return value.substr(0, max_parameter_bytes);
    }
  }
  return {};
}

}  // namespace

http::response stats_api::aggregate(request_context& ctx) const {
  const auto query = http::parse_query(ctx.req.query);
  const std::string period_param = parameter(query, "period");
  const std::string metrics_param = parameter(query, "metrics");

  std::vector<std::pair<std::string, std::string>> errors;
  std::vector<storage::aggregate_metric> metrics;
  std::vector<std::string> metric_labels;
  std::string_view rest = metrics_param.empty() ? std::string_view("visitors") : metrics_param;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view name = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const auto it = metric_names().find(name);
    if (it == metric_names().end()) {
      errors.emplace_back("metrics", "unknown metric '" + std::string(name.substr(0, 40)) +
                                         "'; valid metrics: " + std::string(valid_aggregate_metrics));
      break;
    }
    if (std::find(metrics.begin(), metrics.end(), it->second) != metrics.end()) {
      errors.emplace_back("metrics", "metric '" + std::string(name) + "' is listed twice");
      break;
    }
    metrics.push_back(it->second);
    metric_labels.emplace_back(name);
  }
  if (!errors.empty()) {
    return http::response::errors(400, errors);
  }

  // The gate (authz.cpp) found the ?site_id= site and checked the caller may read it.
  const auto& site = ctx.site->site;
  const auto today = storage::local_date(ctx.tx, site.timezone, clock_.now());
  const auto range = resolve_period(period_param.empty() ? "30d" : period_param,
                                    parameter(query, "date"), today);
  if (!range) {
    return http::response::errors(400, {{"period", range.error()}});
  }
  const auto totals = storage::aggregate(ctx.tx, site.id, *range, metrics);

  json::writer w;
  w.begin_object().key("results").begin_object();
  for (std::size_t i = 0; i < metrics.size(); ++i) {
    w.key(metric_labels[i]).begin_object().key("value").value(totals.at(metrics[i])).end_object();
  }
  w.end_object().end_object();
  return http::response::json(200, std::move(w).str());
}

void add_stats_routes(secure_routes& routes, std::shared_ptr<const stats_api> api) {
  // Stats keys and signed-in members of any role (the web dashboard) read stats.
  routes.add(http::verb::get, "/api/v1/stats/aggregate",
             route_policy::on_site(storage::site_role::viewer, storage::api_scope::stats_read),
             [api](request_context& ctx) { return api->aggregate(ctx); });
}

}  // namespace plumb::dashboard
