#include "stats_api.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "plumb/json/writer.hpp"
#include "plumb/stats/engine.hpp"
#include "plumb/stats/export.hpp"
#include "plumb/stats/parse.hpp"
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

std::optional<std::string> bearer_token(const http::request& req) {
  const auto header = req.header_value("authorization");
  constexpr std::string_view scheme = "Bearer ";
  if (!header || header->size() <= scheme.size() || header->substr(0, scheme.size()) != scheme) {
    return std::nullopt;
  }
  return std::string(header->substr(scheme.size()));
}

// The one access check of every stats route; the accounts and sessions layer replaces this
// function. Returns the site named `domain` when the request's Bearer API key may read it,
// otherwise the response to send (401, or 404 — the same whether the site does not exist or
// belongs to someone else, so there is no oracle).
expected<storage::site, http::response> authorize_site(pqxx::transaction_base& tx,
                                                       const http::request& req,
                                                       std::string_view domain) {
  const auto token = bearer_token(req);
  if (!token) {
    return unexpected(
        http::response::errors(
            401, {{"authorization", "send an API key as 'Authorization: Bearer <key>'"}})
            .with_header("WWW-Authenticate", "Bearer"));
  }
  const auto key = storage::find_api_key(tx, *token);
  if (!key) {
    return unexpected(
        http::response::errors(401, {{"authorization", "invalid or revoked API key"}}));
  }
  const auto site = domain.empty() ? std::nullopt : storage::find_site(tx, domain);
  if (!site || site->account_id != key->account_id) {
    return unexpected(http::response::errors(404, {{"site_id", "no such site for this API key"}}));
  }
  return *site;
}

// A request's site and validated query, or the response to send instead.
struct prepared {
  storage::site site;
  stats::query query;
  std::string today;
};

// Routes under /api/stats/{domain}/{name}.
struct dashboard_path {
  std::string domain;
  std::string name;
};
std::optional<dashboard_path> split_dashboard_path(std::string_view path) {
  constexpr std::string_view prefix = "/api/stats/";
  path.remove_prefix(prefix.size());
  const auto slash = path.find('/');
  if (slash == std::string_view::npos || slash == 0) {
    return std::nullopt;
  }
  return dashboard_path{std::string(path.substr(0, slash)), std::string(path.substr(slash + 1))};
}

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
  explicit stats_api(const stats_dependencies& deps)
      : pool_(deps.pool),
        clock_(deps.clock),
        redis_(deps.redis),
        keys_(deps.keys),
        cache_(deps.redis, deps.keys) {}

  http::response v1(const http::request& req, stats::view kind) const {
    const auto params = http::parse_query(req.query);
    auto conn = pool_.acquire();
    pqxx::read_transaction tx(*conn);
    auto p = prepare(tx, req, stats::parameter(params, "site_id"), params, kind);
    if (!p) {
      return std::move(p).error();
    }
    return http::response::json(
        200, cached(req, params, *p, [&] { return render_v1(tx, p->query, kind); }));
  }

  http::response realtime_visitors(const http::request& req) const {
    const auto params = http::parse_query(req.query);
    auto conn = pool_.acquire();
    pqxx::read_transaction tx(*conn);
    auto site = authorize_site(tx, req, stats::parameter(params, "site_id"));
    if (!site) {
      return std::move(site).error();
    }
    return http::response::json(200, std::to_string(current_visitors(site->id)));
  }

  http::response dashboard(const http::request& req) const {
    const auto path = split_dashboard_path(req.path);
    if (!path) {
      return http::response::errors(404, {{"path", "expected /api/stats/{domain}/{view}"}});
    }
    const auto params = http::parse_query(req.query);
    if (path->name == "events.csv") {
      return raw_export(req, path->domain);
    }
    const bool csv = path->name == "export.csv";
    stats::view kind = stats::view::aggregate;
    if (path->name == "main-graph" || (csv && stats::parameter(params, "view") == "timeseries")) {
      kind = stats::view::timeseries;
    } else if (path->name == "breakdown" ||
               (csv && stats::parameter(params, "view") == "breakdown")) {
      kind = stats::view::breakdown;
    } else if (path->name != "top-stats" && !csv) {
      return http::response::errors(
          404, {{"path", "unknown view '" + path->name.substr(0, 40) +
                             "'; valid views: top-stats, main-graph, breakdown, "
                             "export.csv, events.csv"}});
    }
    if (csv) {
      return csv_export(req, path->domain, params, kind);
    }
    auto conn = pool_.acquire();
    pqxx::read_transaction tx(*conn);
    auto p = prepare(tx, req, path->domain, params, kind);
    if (!p) {
      return std::move(p).error();
    }
    if (kind == stats::view::aggregate) {
      // Current visitors change by the second: never part of a cached body.
      const std::string totals =
          cached(req, params, *p, [&] { return render_top_stats(tx, p->query); });
      return http::response::json(200, with_current_visitors(totals, current_visitors(p->site.id)));
    }
    return http::response::json(200, cached(req, params, *p, [&] {
                                  return kind == stats::view::timeseries
                                             ? render_main_graph(tx, p->query)
                                             : render_breakdown_box(tx, p->query);
                                }));
  }

 private:
  expected<prepared, http::response> prepare(pqxx::transaction_base& tx, const http::request& req,
                                             std::string_view domain,
                                             const stats::parameters& params,
                                             stats::view kind) const {
    auto site = authorize_site(tx, req, domain);
    if (!site) {
      return unexpected(std::move(site).error());
    }
    const auto now_ms = core::unix_ms(clock_.now());
    stats::site_context context{
        site->id, site->timezone, stats::local_date(tx, site->timezone, now_ms), {}, now_ms};
    context.first_day = stats::first_day(tx, site->id);
    if (context.first_day.empty()) {
      context.first_day = context.today;
    }
    auto q = stats::parse_query(params, kind, context);
    if (!q) {
      return unexpected(http::response::errors(400, q.error()));
    }
    return prepared{std::move(*site), std::move(*q), context.today};
  }

  std::string cached(const http::request& req, const stats::parameters& params, const prepared& p,
                     const std::function<std::string()>& compute) const {
    const bool closed = !p.query.realtime && stats::is_closed(p.query.range, p.today);
    return cache_.get_or_compute(p.site.id, request_key(req, params), closed, compute);
  }

  std::int64_t current_visitors(std::int64_t site_id) const {
    // A connection per call: realtime requests are rare next to the queries around them.
    redis::connection conn(redis_);
    visits::tracker tracker(conn, keys_);
    return tracker.current_visitors(site_id, core::unix_ms(clock_.now()));
  }

  http::response csv_export(const http::request& req, const std::string& domain,
                            const stats::parameters& params, stats::view kind) const {
    // The lease and transaction live in the stream, which outlives this call.
    struct state {
      pg::pool::lease conn;
      pqxx::read_transaction tx;
      stats::query query;
      stats::view kind;
      std::size_t page = 0;
      explicit state(pg::pool::lease c) : conn(std::move(c)), tx(*conn) {}
    };
    auto s = std::make_shared<state>(pool_.acquire());
    auto p = prepare(s->tx, req, domain, params, kind);
    if (!p) {
      return std::move(p).error();
    }
    s->query = std::move(p->query);
    s->kind = kind;
    auto res = http::response::streamed(200, "text/csv; charset=utf-8", [s](std::string& out) {
      if (s->kind != stats::view::breakdown) {
        out = s->kind == stats::view::aggregate ? csv_aggregate(s->tx, s->query)
                                                : csv_timeseries(s->tx, s->query);
        return false;
      }
      // Breakdowns page through the values, one page per piece.
      stats::query page = s->query;
      page.limit = csv_page_rows;
      page.page = ++s->page;
      const auto rows = stats::breakdown(s->tx, page);
      out = csv_breakdown_rows(page, rows, s->page == 1);
      return rows.size() == csv_page_rows && s->page < csv_max_pages;
    });
    return res.with_header("Content-Disposition",
                           "attachment; filename=\"" + domain + "-" +
                               std::string(kind == stats::view::aggregate    ? "aggregate"
                                           : kind == stats::view::timeseries ? "timeseries"
                                                                             : "breakdown") +
                               ".csv\"");
  }

  http::response raw_export(const http::request& req, const std::string& domain) const {
    struct state {
      pg::pool::lease conn;
      pqxx::read_transaction tx;
      bool header_sent = false;
      explicit state(pg::pool::lease c) : conn(std::move(c)), tx(*conn) {}
    };
    auto s = std::make_shared<state>(pool_.acquire());
    auto site = authorize_site(s->tx, req, domain);
    if (!site) {
      return std::move(site).error();
    }
    stats::declare_export_cursor(s->tx, site->id);
    auto res = http::response::streamed(200, "text/csv; charset=utf-8", [s](std::string& out) {
      if (!s->header_sent) {
        s->header_sent = true;
        out = stats::export_header();
      }
      return stats::fetch_export_rows(s->tx, export_fetch_rows, out);
    });
    return res.with_header("Content-Disposition",
                           "attachment; filename=\"" + domain + "-events.csv\"");
  }

  pg::pool& pool_;
  const core::clock& clock_;
  redis::endpoint redis_;
  events::keys keys_;
  mutable stats::result_cache cache_;
};

void add_stats_routes(http::router& routes, const stats_dependencies& deps) {
  auto api = std::make_shared<const stats_api>(deps);
  const auto v1 = [&routes, api](std::string path, stats::view kind) {
    routes.add(
        http::verb::get, std::move(path),
        [api, kind](const http::request& req) { return api->v1(req, kind); },
        http::dispatch::blocking);
  };
  v1("/api/v1/stats/aggregate", stats::view::aggregate);
  v1("/api/v1/stats/timeseries", stats::view::timeseries);
  v1("/api/v1/stats/breakdown", stats::view::breakdown);
  routes.add(
      http::verb::get, "/api/v1/stats/realtime/visitors",
      [api](const http::request& req) { return api->realtime_visitors(req); },
      http::dispatch::blocking);
  routes.add(
      http::verb::get, "/api/stats/*",
      [api](const http::request& req) { return api->dashboard(req); }, http::dispatch::blocking);
  routes.add(http::verb::get, "/api/openapi.json", [](const http::request&) {
    return http::response::json(200, std::string(openapi_document()));
  });
}

}  // namespace plumb::dashboard
