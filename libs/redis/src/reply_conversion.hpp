#pragma once
// Copies a hiredis reply into plumb::redis::reply (shared by the blocking connection and the
// asynchronous pipeline), so that no hiredis type leaves this library.

#include <hiredis/hiredis.h>

#include "plumb/redis/connection.hpp"

namespace plumb::redis {

// Deep copy; throws redis::error on a reply type hiredis 0.14 does not produce.
reply from_hiredis(const redisReply& in);

}  // namespace plumb::redis
