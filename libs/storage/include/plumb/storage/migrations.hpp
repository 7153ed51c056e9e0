#pragma once
// Numbered SQL migrations compiled into the binary (libs/storage/migrations/NNNN_name.sql),
// applied in order, each in its own transaction, recorded in schema_migrations.

#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace plumb::storage {

struct migration_result {
  std::vector<std::string> applied;  // file names applied by this call, in order
  int current_version = 0;
};

// Applies every migration newer than the database's version. Safe to run concurrently from
// several processes (an advisory lock serialises them). Throws pqxx errors on failure; a failed
// migration leaves the database at the previous version.
migration_result migrate(pqxx::connection& conn);

// The highest version in the binary.
int latest_migration_version();

}  // namespace plumb::storage
