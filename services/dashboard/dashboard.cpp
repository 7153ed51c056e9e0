#include "dashboard.hpp"

#include <array>
#include <memory>
#include <span>
#include <stdexcept>
#include <tuple>

#include "accounts_api.hpp"
#include "plumb/core/embedded_file.hpp"
#include "plumb/http/static_asset.hpp"
#include "sites_api.hpp"
#include "stats_api.hpp"

namespace plumb::dashboard {

std::span<const core::embedded_file> web_files();  // generated (CMakeLists.txt)

namespace {

std::string_view web_file(std::string_view name) {
  for (const auto& file : web_files()) {
    if (file.name == name) {
      return file.data;
    }
  }
  throw std::logic_error("the web file " + std::string(name) + " is missing from the build");
}

// A year, never revalidated: a bundle's URL names its content, so a new build has new URLs.
constexpr std::string_view bundle_cache_control = "public, max-age=31536000, immutable";

// The web app's own URLs (web/src/app.js routes them in the browser): each answers with the same
// page, so any view can be bookmarked or reloaded. The page holds no data; the API is guarded.
constexpr std::array<std::string_view, 9> app_pages{
    "/",         "/login", "/signup",       "/reset-password",         "/invitation",
    "/account", "/sites", "/sites/{site}", "/sites/{site}/settings"};
// The shared-link page, which customers embed in their own sites (`?embed=true`).
constexpr std::string_view shared_link_page = "/share/{share}";

// Every page's CSP; `frame_ancestors` says who may frame it.
std::string content_security_policy(std::string_view frame_ancestors) {
  return "default-src 'self'; img-src 'self' data:; frame-ancestors " + std::string(frame_ancestors) +
         "; base-uri 'none'; form-action 'self'; object-src 'none'";
}

}  // namespace

void add_web_routes(http::router& routes) {
  std::string index(web_file("index.html"));
  for (const auto& [stem, extension, content_type] :
       {std::tuple{"app", ".js", "text/javascript; charset=utf-8"},
        std::tuple{"app", ".css", "text/css; charset=utf-8"}}) {
    const std::string name = std::string(stem) + extension;
    auto bundle = std::make_shared<const http::static_asset>(
        http::make_static_asset(web_file(name), web_file(name + ".gz"), content_type,
                                std::string(bundle_cache_control)));
    // 16 hex digits of the bundle's SHA-256 (its ETag without the quotes) name this build's copy.
    const std::string url =
        "/assets/" + std::string(stem) + "." + bundle->plain.etag.substr(1, 16) + extension;
    const std::string placeholder = "/assets/" + name;
    const auto at = index.find(placeholder);
    if (at == std::string::npos) {
      throw std::logic_error("web/index.html does not load " + placeholder);
    }
    index.replace(at, placeholder.size(), url);
    routes.add(http::verb::get, url,
               [bundle](const http::request& req) { return http::serve(*bundle, req); });
  }
  // The page names the current bundles, so browsers revalidate it every time (a 304 is cheap).
  const auto page = std::make_shared<const http::static_asset>(
      http::make_static_asset(index, std::nullopt, "text/html; charset=utf-8", "no-cache"));
  for (const auto path : app_pages) {
    routes.add(http::verb::get, std::string(path),
               [page](const http::request& req) { return http::serve(*page, req); });
  }
  // Any site may frame a shared link: it shows only what its link already makes public. (Browsers
  // obey frame-ancestors over the default X-Frame-Options: DENY.)
  routes.add(http::verb::get, std::string(shared_link_page), [page](const http::request& req) {
    return http::serve(*page, req).with_header("Content-Security-Policy", content_security_policy("*"));
  });
}

void add_dashboard_routes(secure_routes& secure, http::router& routes, metrics::registry& registry,
                          std::vector<runtime::health_check> checks) {
  // The page and its bundles are public and hold no tenant data.
  const std::size_t before_web = routes.routes().size();
  add_web_routes(routes);
  for (std::size_t i = before_web; i < routes.routes().size(); ++i) {
    secure.declare(routes.routes()[i].method, routes.routes()[i].path, route_policy::public_route());
  }
  add_account_routes(secure);
  add_site_routes(secure);
  add_stats_routes(secure, routes);
  // Operators' probes: no tenant data (health says ok/unavailable per dependency).
  secure.declare(http::verb::get, "/healthz", route_policy::public_route());
  secure.declare(http::verb::get, "/metrics", route_policy::public_route());
  runtime::add_standard_routes(routes, registry, std::move(checks));
}

std::vector<http::header> security_headers() {
  return {{"Content-Security-Policy", content_security_policy("'none'")},
          {"X-Content-Type-Options", "nosniff"},
          {"Referrer-Policy", "strict-origin-when-cross-origin"},
          {"X-Frame-Options", "DENY"},
          {"Cross-Origin-Opener-Policy", "same-origin"},
          {"Strict-Transport-Security", "max-age=31536000; includeSubDomains"}};
}

}  // namespace plumb::dashboard
