#include "reply_conversion.hpp"

#include <string>

namespace plumb::redis {

reply from_hiredis(const redisReply& in) {
  reply out;
  switch (in.type) {
    case REDIS_REPLY_STRING:
      out.type = reply::kind::string;
      out.str.assign(in.str, in.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = reply::kind::status;
      out.str.assign(in.str, in.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = reply::kind::error;
      out.str.assign(in.str, in.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = reply::kind::integer;
      out.integer = static_cast<std::int64_t>(in.integer);
      break;
    case REDIS_REPLY_NIL:
      out.type = reply::kind::nil;
      break;
    case REDIS_REPLY_ARRAY:
      // hiredis caps nesting at 7 levels, which bounds this recursion.
      out.type = reply::kind::array;
      out.elements.reserve(in.elements);
      for (std::size_t i = 0; i < in.elements; ++i) {
        out.elements.push_back(in.element[i] != nullptr ? from_hiredis(*in.element[i]) : reply{});
      }
      break;
    default:
      throw error("redis: unexpected reply type " + std::to_string(in.type));
  }
  return out;
}

}  // namespace plumb::redis
