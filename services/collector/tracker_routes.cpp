#include "tracker_routes.hpp"

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "plumb/http/static_asset.hpp"

namespace plumb::collector {
namespace {

std::string_view embedded(std::string_view name) {
  for (const auto& file : tracker_files()) {
    if (file.name == name) {
      return file.data;
    }
  }
  throw std::logic_error("the tracker file " + std::string(name) + " is missing from the build");
}

}  // namespace

bool valid_tracker_alias(std::string_view alias) {
  return !alias.empty() && alias.size() <= max_tracker_alias_bytes &&
         std::all_of(alias.begin(), alias.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
         });
}

void add_tracker_routes(http::router& routes, const std::string& alias) {
  const auto script = std::make_shared<const http::static_asset>(
      http::make_static_asset(embedded("script.js"), embedded("script.js.gz"),
                              std::string(tracker_content_type), std::string(tracker_cache_control)));
  const http::handler handler = [script](const http::request& req) {
    // Loaded cross-origin by every customer site, including ones that require CORP
    // (Cross-Origin-Embedder-Policy: require-corp) for cross-origin isolation.
    return http::serve(*script, req).with_header("Cross-Origin-Resource-Policy", "cross-origin");
  };
  routes.add(http::verb::get, "/js/script.js", handler);
  if (valid_tracker_alias(alias) && alias != "script") {
    routes.add(http::verb::get, "/js/" + alias + ".js", handler);
  }
}

}  // namespace plumb::collector
