#pragma once
// Random bearer tokens (API keys, invitations, shared links): 32 random bytes in hex behind a
// recognisable prefix, stored only as their SHA-256. 256 random bits cannot be brute-forced, so
// a plain hash is enough and lets a request find its row with one index lookup.

#include <pqxx/pqxx>
#include <string>
#include <string_view>

#include "plumb/crypto/crypto.hpp"

namespace plumb::storage {

inline constexpr std::size_t token_random_bytes = 32;

inline std::string new_token(std::string_view prefix) {
  return std::string(prefix) + crypto::to_hex(crypto::random_bytes(token_random_bytes));
}

inline pqxx::binarystring token_hash(std::string_view token) {
  const auto digest = crypto::sha256({token});
  return pqxx::binarystring(digest.data(), digest.size());
}

}  // namespace plumb::storage
