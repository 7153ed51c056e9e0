#include "site_cache.hpp"

namespace plumb::collector {

std::optional<events::site_descriptor> site_cache::find(const std::string& domain) const {
  std::shared_ptr<const map> sites;
  {
    const std::lock_guard lock(mutex_);
    sites = sites_;
  }
  const auto it = sites->find(domain);
  if (it == sites->end()) {
    return std::nullopt;
  }
  return it->second;
}

site_cache::refresh_result site_cache::refresh(redis::connection& redis, const events::keys& keys) {
  const auto reply = redis.command({"HGETALL", keys.site_map()});
  if (reply.is_error()) {
    throw redis::error("HGETALL of the site map failed: " + reply.str);
  }
  map sites;
  refresh_result result;
  for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    if (auto site = events::decode_site_descriptor(reply.elements[i + 1].str)) {
      sites.emplace(reply.elements[i].str, std::move(*site));
    } else {
      ++result.malformed;
    }
  }
  result.sites = sites.size();
  replace(std::move(sites));
  return result;
}

void site_cache::replace(map sites) {
  auto fresh = std::make_shared<const map>(std::move(sites));
  const std::lock_guard lock(mutex_);
  sites_ = std::move(fresh);
}

}  // namespace plumb::collector
