#include "dashboard.hpp"

#include <span>

#include "plumb/core/embedded_file.hpp"

namespace plumb::dashboard {

std::span<const core::embedded_file> web_files();  // generated (CMakeLists.txt)

namespace {
std::string_view content_type_of(std::string_view name) {
  if (name.ends_with(".html")) {
    return "text/html; charset=utf-8";
  }
  if (name.ends_with(".js")) {
    return "text/javascript; charset=utf-8";
  }
  if (name.ends_with(".css")) {
    return "text/css; charset=utf-8";
  }
  return "application/octet-stream";
}
}  // namespace

void add_web_routes(http::router& routes) {
  for (const auto& file : web_files()) {
    const std::string path = file.name == "index.html" ? "/" : "/" + std::string(file.name);
    routes.add(http::verb::get, path, [file](const http::request&) {
      return http::response::text(200, std::string(file.data), std::string(content_type_of(file.name)))
          .with_header("Cache-Control", "no-cache");
    });
  }
}

std::vector<http::header> security_headers() {
  return {{"Content-Security-Policy",
           "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
           "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"},
          {"X-Content-Type-Options", "nosniff"},
          {"Referrer-Policy", "strict-origin-when-cross-origin"},
          {"X-Frame-Options", "DENY"},
          {"Strict-Transport-Security", "max-age=31536000; includeSubDomains"}};
}

}  // namespace plumb::dashboard
