#pragma once
// datagen's traffic for the stats tests: stored as workers store it (ingest::history_loader, the
// path an e2e test proves equal to the generator's truth), and indexed with each event's visit so
// tests compute expected answers from the generated events alone.

#include <cstddef>
#include <map>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "plumb/datagen/generator.hpp"

namespace plumb::test_support {

// One generated event with the values reports read, and the index of its visit in data.visits.
struct stored_hit {
  const events::event* e = nullptr;
  std::size_t visit = 0;
  std::string page, hostname;
  std::map<std::string, std::string> props;
  double revenue = 0;
  bool has_revenue = false;
};

// Every event of `data` (which must outlive the result), with its visit.
std::vector<stored_hit> index_hits(const datagen::generated& data);

// Stores every event of `data`, then settles rollup rows older than two days before its last
// event (storage::settle_rollups); the sites must exist.
void store_generated(pqxx::connection& conn, const datagen::generated& data);

}  // namespace plumb::test_support
