#pragma once
// The per-site numbering of dimension values (table dimension_values): events and rollups store
// numbers, never the text. Numbers are created on first sight and never change, so the cache
// below can never be stale; it only has to stay bounded.

#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <unordered_map>
#include <vector>

namespace plumb::storage {

class dictionary {
 public:
  // A busy worker sees a few thousand distinct values per site; past this many cached entries the
  // cache is dropped and refills from the database (one round trip per batch of misses).
  static constexpr std::size_t max_cached = 200'000;

  // Starts a batch: want() its values, resolve(), then id(). Drops the cache when it is full.
  void begin();
  // Queue a value to resolve; cheap when cached.
  void want(std::int64_t site_id, const std::string& value);
  // Resolves every wanted value in one statement (a few more if other workers insert the same new
  // values concurrently), committing new numbers in their own transaction: a number that outlives
  // a failed batch is harmless. Throws pqxx errors (a foreign-key violation if the site is gone).
  void resolve(pqxx::connection& conn);
  // The number of a value resolved earlier. Throws std::logic_error if it never was.
  std::int64_t id(std::int64_t site_id, const std::string& value) const;

 private:
  struct key_hash {
    std::size_t operator()(const std::pair<std::int64_t, std::string>& k) const;
  };
  using key = std::pair<std::int64_t, std::string>;
  std::unordered_map<key, std::int64_t, key_hash> cache_;
  std::vector<key> wanted_;
};

}  // namespace plumb::storage
