#include "stats_api.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "plumb/json/writer.hpp"
#include "plumb/stats/engine.hpp"
#include "plumb/stats/export.hpp"
#include "plumb/stats/parse.hpp"
#include "plumb/stats/result_cache.hpp"
#include "plumb/storage/site_config.hpp"
#include "plumb/storage/tenants.hpp"
#include "plumb/visits/tracker.hpp"
#include "stats_render.hpp"

namespace plumb::dashboard {
namespace {

// Rows per page while a breakdown CSV is streamed, and events per piece of the raw export: each
// piece is one query's worth, so memory stays bounded whatever the export's size.
constexpr std::size_t csv_page_rows = 1'000;
constexpr std::size_t export_fetch_rows = 5'000;
// Breakdown CSVs stop after this many pages (a million rows).
constexpr std::size_t csv_max_pages = 1'000;

// A request's site and validated query, or the response to send instead.
struct prepared {
  storage::site site;
  stats::query query;
  std::string today;
};

// The cache key of a request: its path and parameters in a canonical order.
std::string request_key(const http::request& req, const stats::parameters& params) {
  auto sorted = params;
  std::sort(sorted.begin(), sorted.end());
  std::string key = req.path;
  for (const auto& [k, v] : sorted) {
    key.append("\n").append(k).append("=").append(v);
  }
  return key;
}

}  // namespace

class stats_api {
 public:
  explicit stats_api(dashboard_services& services)
      : services_(services), cache_(services.redis, services.keys) {}

  // The gate (authz.cpp) has checked the caller may read the site the request names (?site_id=
  // or {site}) and opened ctx.tx acting as the caller.

  http::response v1(request_context& ctx, stats::view kind) const {
    const auto params = http::parse_query(ctx.req.query);
    auto p = prepare(ctx, params, kind);
    if (!p) {
      return std::move(p).error();
    }
    return http::response::json(
        200, cached(ctx.req, params, *p, [&] { return render_v1(ctx.tx, p->query, kind); }));
  }

  http::response realtime_visitors(request_context& ctx) const {
    return http::response::json(200, std::to_string(current_visitors(ctx.site->site.id)));
  }

  // /api/stats/{site}/{top-stats,main-graph,breakdown}: the web dashboard's views.
  http::response dashboard_view(request_context& ctx, stats::view kind) const {
    const auto params = http::parse_query(ctx.req.query);
    auto p = prepare(ctx, params, kind);
    if (!p) {
      return std::move(p).error();
    }
    if (kind == stats::view::aggregate) {
      // Current visitors change by the second: never part of a cached body.
      const std::string totals =
          cached(ctx.req, params, *p, [&] { return render_top_stats(ctx.tx, p->query); });
      return http::response::json(200,
                                  with_current_visitors(totals, current_visitors(p->site.id)));
    }
    return http::response::json(200, cached(ctx.req, params, *p, [&] {
                                  return kind == stats::view::timeseries
                                             ? render_main_graph(ctx.tx, p->query)
                                             : render_breakdown_box(ctx.tx, p->query);
                                }));
  }

  // /api/stats/{site}/export.csv?view=aggregate|timeseries|breakdown&…
  http::response csv_export(request_context& ctx) const {
    const auto params = http::parse_query(ctx.req.query);
    const auto view = stats::parameter(params, "view");
    if (view != "aggregate" && view != "timeseries" && view != "breakdown") {
      return http::response::errors(
          400, {{"view", "unknown view '" + view.substr(0, 40) +
                             "'; valid views: aggregate, timeseries, breakdown"}});
    }
    const auto kind = view == "aggregate"    ? stats::view::aggregate
                      : view == "timeseries" ? stats::view::timeseries
                                             : stats::view::breakdown;
    auto p = prepare(ctx, params, kind);
    if (!p) {
      return std::move(p).error();
    }
    // The body is produced after the gate's transaction has ended: the stream reads in its own,
    // acting as the same caller.
    struct state {
      state(pg::pool& pool, const principal& who, stats::query q, stats::view k)
          : reader(pool, who), query(std::move(q)), kind(k) {}
      caller_transaction reader;
      stats::query query;
      stats::view kind;
      std::size_t page = 0;
    };
    auto s = std::make_shared<state>(services_.pg, ctx.who, std::move(p->query), kind);
    auto res = http::response::streamed(200, "text/csv; charset=utf-8", [s](std::string& out) {
      auto& tx = s->reader.tx();
      if (s->kind != stats::view::breakdown) {
        out = s->kind == stats::view::aggregate ? csv_aggregate(tx, s->query)
                                                : csv_timeseries(tx, s->query);
        return false;
      }
      // Breakdowns page through the values, one page per piece.
      stats::query page = s->query;
      page.limit = csv_page_rows;
      page.page = ++s->page;
      const auto rows = stats::breakdown(tx, page);
      out = csv_breakdown_rows(page, rows, s->page == 1);
      return rows.size() == csv_page_rows && s->page < csv_max_pages;
    });
    return res.with_header("Content-Disposition", "attachment; filename=\"" + p->site.domain +
                                                      "-" + view + ".csv\"");
  }

  // /api/stats/{site}/events.csv: every stored event of the site.
  http::response raw_export(request_context& ctx) const {
    struct state {
      state(pg::pool& pool, const principal& who) : reader(pool, who) {}
      caller_transaction reader;
      bool header_sent = false;
    };
    auto s = std::make_shared<state>(services_.pg, ctx.who);
    const auto& site = ctx.site->site;
    stats::declare_export_cursor(s->reader.tx(), site.id);
    auto res = http::response::streamed(200, "text/csv; charset=utf-8", [s](std::string& out) {
      if (!s->header_sent) {
        s->header_sent = true;
        out = stats::export_header();
      }
      return stats::fetch_export_rows(s->reader.tx(), export_fetch_rows, out);
    });
    return res.with_header("Content-Disposition",
                           "attachment; filename=\"" + site.domain + "-events.csv\"");
  }

 private:
  expected<prepared, http::response> prepare(request_context& ctx, const stats::parameters& params,
                                             stats::view kind) const {
    const auto& site = ctx.site->site;
    const auto now_ms = core::unix_ms(services_.clock.now());
    stats::site_context context{
        site.id, site.timezone, stats::local_date(ctx.tx, site.timezone, now_ms), {}, now_ms};
    context.first_day = stats::first_day(ctx.tx, site.id);
    if (context.first_day.empty()) {
      context.first_day = context.today;
    }
    auto q = stats::parse_query(params, kind, context);
    if (!q) {
      return unexpected(http::response::errors(400, q.error()));
    }
    if (q->breakdown && q->breakdown->dimension == events::dimension::event) {
      for (auto& goal : storage::goals_of(ctx.tx, site.id)) {
        if (goal.page_path) {
          q->page_goals.push_back(std::move(*goal.page_path));
        }
      }
    }
    return prepared{site, std::move(*q), context.today};
  }

  std::string cached(const http::request& req, const stats::parameters& params, const prepared& p,
                     const std::function<std::string()>& compute) const {
    const bool closed = !p.query.realtime && stats::is_closed(p.query.range, p.today);
    // Goal breakdowns list the site's pageview goals: a goal added or deleted is a new result.
    std::string key = request_key(req, params);
    for (const auto& goal : p.query.page_goals) {
      key.append("\ngoal=").append(goal);
    }
    return cache_.get_or_compute(p.site.id, key, closed, compute);
  }

  std::int64_t current_visitors(std::int64_t site_id) const {
    auto conn = services_.redis.acquire();
    visits::tracker tracker(*conn, services_.keys);
    return tracker.current_visitors(site_id, core::unix_ms(services_.clock.now()));
  }

  dashboard_services& services_;
  mutable stats::result_cache cache_;
};

void add_stats_routes(secure_routes& secure, http::router& routes) {
  const auto api = std::make_shared<const stats_api>(secure.services());
  // Members of the site (any role) and their stats:read API keys.
  const auto readers = route_policy::on_site(storage::site_role::viewer, storage::api_scope::stats_read);
  const auto route = [&](std::string path, std::function<http::response(const stats_api&, request_context&)> fn) {
    secure.add(http::verb::get, std::move(path), readers,
               [api, fn = std::move(fn)](request_context& ctx) { return fn(*api, ctx); });
  };
  using stats::view;
  route("/api/v1/stats/aggregate", [](auto& a, auto& ctx) { return a.v1(ctx, view::aggregate); });
  route("/api/v1/stats/timeseries", [](auto& a, auto& ctx) { return a.v1(ctx, view::timeseries); });
  route("/api/v1/stats/breakdown", [](auto& a, auto& ctx) { return a.v1(ctx, view::breakdown); });
  route("/api/v1/stats/realtime/visitors", [](auto& a, auto& ctx) { return a.realtime_visitors(ctx); });
  route("/api/stats/{site}/top-stats", [](auto& a, auto& ctx) { return a.dashboard_view(ctx, view::aggregate); });
  route("/api/stats/{site}/main-graph", [](auto& a, auto& ctx) { return a.dashboard_view(ctx, view::timeseries); });
  route("/api/stats/{site}/breakdown", [](auto& a, auto& ctx) { return a.dashboard_view(ctx, view::breakdown); });
  route("/api/stats/{site}/export.csv", [](auto& a, auto& ctx) { return a.csv_export(ctx); });
  route("/api/stats/{site}/events.csv", [](auto& a, auto& ctx) { return a.raw_export(ctx); });
  // The same views for visitors of a shared link (read-only; the gate admits them, unlocking
  // password-protected links first, and names the link's site).
  const auto shared = [&](std::string path, std::function<http::response(const stats_api&, request_context&)> fn) {
    secure.add(http::verb::get, std::move(path), route_policy::shared_link_visitor(),
               [api, fn = std::move(fn)](request_context& ctx) { return fn(*api, ctx); });
  };
  shared("/api/shared/{share}/top-stats", [](auto& a, auto& ctx) { return a.dashboard_view(ctx, view::aggregate); });
  shared("/api/shared/{share}/main-graph", [](auto& a, auto& ctx) { return a.dashboard_view(ctx, view::timeseries); });
  shared("/api/shared/{share}/breakdown", [](auto& a, auto& ctx) { return a.dashboard_view(ctx, view::breakdown); });
  // The API's description: public, like any documentation.
  routes.add(http::verb::get, "/api/openapi.json", [](const http::request&) {
    return http::response::json(200, std::string(openapi_document()));
  });
  secure.declare(http::verb::get, "/api/openapi.json", route_policy::public_route());
}

}  // namespace plumb::dashboard
