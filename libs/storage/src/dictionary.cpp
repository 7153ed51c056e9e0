#include "plumb/storage/dictionary.hpp"

#include <algorithm>
#include <functional>
#include <stdexcept>

#include "plumb/pg/copy.hpp"

namespace plumb::storage {
namespace {
// Rows inserted by a concurrent transaction that commits after this statement's snapshot are
// neither inserted nor seen; they are visible to the next attempt. Two attempts suffice unless
// the database misbehaves.
constexpr int max_attempts = 4;

// Inserts what is new (sorted, so two workers inserting overlapping sets lock index entries in
// the same order and cannot deadlock) and returns the numbers of every input value it can see.
constexpr const char* resolve_sql =
    "WITH input AS ("
    "  SELECT DISTINCT site_id, value FROM unnest($1::bigint[], $2::text[]) AS t(site_id, value)),"
    " inserted AS ("
    "  INSERT INTO dimension_values (site_id, value)"
    "  SELECT site_id, value FROM input ORDER BY site_id, value"
    "  ON CONFLICT (site_id, value) DO NOTHING RETURNING site_id, id, value)"
    " SELECT site_id, id, value FROM inserted"
    " UNION ALL"
    " SELECT d.site_id, d.id, d.value FROM dimension_values d"
    " JOIN input i ON d.site_id = i.site_id AND d.value = i.value";
}  // namespace

std::size_t dictionary::key_hash::operator()(const key& k) const {
  return std::hash<std::string>{}(k.second) ^ (std::hash<std::int64_t>{}(k.first) * 0x9e3779b97f4a7c15ULL);
}

void dictionary::begin() {
  wanted_.clear();
  if (cache_.size() > max_cached) {
    cache_.clear();
  }
}

void dictionary::want(std::int64_t site_id, const std::string& value) {
  key k{site_id, value};
  if (!cache_.contains(k)) {
    wanted_.push_back(std::move(k));
  }
}

void dictionary::resolve(pqxx::connection& conn) {
  if (wanted_.empty()) {
    return;
  }
  std::sort(wanted_.begin(), wanted_.end());
  wanted_.erase(std::unique(wanted_.begin(), wanted_.end()), wanted_.end());
  for (int attempt = 0; attempt < max_attempts && !wanted_.empty(); ++attempt) {
    std::vector<std::int64_t> sites;
    std::vector<std::string> values;
    sites.reserve(wanted_.size());
    values.reserve(wanted_.size());
    for (const auto& [site, value] : wanted_) {
      sites.push_back(site);
      values.push_back(value);
    }
    pqxx::work tx(conn);
    const auto rows = tx.exec_params(resolve_sql, pg::bigint_array(sites), pg::text_array(values));
    tx.commit();
    for (const auto& row : rows) {
      cache_[key{row[0].as<std::int64_t>(), row[2].as<std::string>()}] = row[1].as<std::int64_t>();
    }
    std::erase_if(wanted_, [&](const key& k) { return cache_.contains(k); });
  }
  if (!wanted_.empty()) {
    wanted_.clear();
    throw std::runtime_error("dimension values could not be numbered (concurrent inserts kept conflicting)");
  }
}

std::int64_t dictionary::id(std::int64_t site_id, const std::string& value) const {
  const auto it = cache_.find(key{site_id, value});
  if (it == cache_.end()) {
    throw std::logic_error("dimension value used before it was resolved");
  }
  return it->second;
}

}  // namespace plumb::storage
