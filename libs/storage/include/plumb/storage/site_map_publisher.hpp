#pragma once

#include <pqxx/pqxx>

#include "plumb/events/keys.hpp"
#include "plumb/redis/connection.hpp"

namespace plumb::storage {

// Rewrites the Redis site map from PostgreSQL's sites table in one atomic step (build under a
// temporary key, then RENAME), so collectors never see a half-written map. Returns the number of
// sites published. Throws redis::error or pqxx errors.
std::size_t publish_site_map(pqxx::transaction_base& tx, redis::connection& redis,
                             const events::keys& keys);

}  // namespace plumb::storage
