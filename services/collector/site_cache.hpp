#pragma once
// The collector's in-memory copy of the registered-site map (published to Redis by plumbctl and
// the dashboard). Lookups never touch the network; a background refresh swaps in a new map.

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "plumb/events/keys.hpp"
#include "plumb/events/site_map.hpp"
#include "plumb/redis/connection.hpp"

namespace plumb::collector {

class site_cache {
 public:
  using map = std::unordered_map<std::string, events::site_descriptor>;

  // The site registered under this normalised domain, if any.
  std::optional<events::site_descriptor> find(const std::string& domain) const;

  // Reloads the whole map (HGETALL); malformed descriptors are skipped and counted in the
  // result. Throws redis::error.
  struct refresh_result {
    std::size_t sites = 0;
    std::size_t malformed = 0;
  };
  refresh_result refresh(redis::connection& redis, const events::keys& keys);
  void replace(map sites);

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const map> sites_ = std::make_shared<map>();
};

}  // namespace plumb::collector
