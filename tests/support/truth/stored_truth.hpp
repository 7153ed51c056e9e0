#pragma once
// datagen's traffic stored as workers store it, without running workers: raw events through
// storage::event_writer, with the rollup deltas of each finished visit built here from the
// generator's visits (not by the worker's code). For the stats tests and the dashboard benchmark.

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

// Writes every hit; the sites must exist. Later events of a visit carry a direct source of their
// own, so reports must read the visit's source from its first event.
void store_generated(pqxx::connection& conn, const datagen::generated& data, const std::vector<stored_hit>& hits);

}  // namespace plumb::test_support
