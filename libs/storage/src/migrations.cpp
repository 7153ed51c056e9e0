#include "plumb/storage/migrations.hpp"

#include <charconv>
#include <span>
#include <stdexcept>

#include "plumb/core/embedded_file.hpp"

namespace plumb::storage {

std::span<const core::embedded_file> migration_files();  // generated (CMakeLists.txt)

namespace {

// Any constant unique to Plumb; serialises concurrent `plumbctl migrate` runs.
constexpr long long migration_lock_id = 0x706c756d62'01;

int version_of(std::string_view file_name) {
  int version = 0;
  const auto [end, ec] = std::from_chars(file_name.data(), file_name.data() + file_name.size(), version);
  if (ec != std::errc{} || end == file_name.data() || *end != '_') {
    throw std::logic_error("migration file name must start with its number: " + std::string(file_name));
  }
  return version;
}

// A session-level advisory lock held for the guard's lifetime.
class advisory_lock {
 public:
  advisory_lock(pqxx::connection& conn, long long id) : conn_(conn), id_(id) {
    pqxx::nontransaction(conn_).exec("SELECT pg_advisory_lock(" + std::to_string(id_) + ")");
  }
  ~advisory_lock() {
    try {
      pqxx::nontransaction(conn_).exec("SELECT pg_advisory_unlock(" + std::to_string(id_) + ")");
    } catch (const pqxx::broken_connection&) {
      // The server released the session's locks together with the connection.
    }
  }
  advisory_lock(const advisory_lock&) = delete;
  advisory_lock& operator=(const advisory_lock&) = delete;

 private:
  pqxx::connection& conn_;
  long long id_;
};

}  // namespace

int latest_migration_version() {
  int latest = 0;
  for (const auto& file : migration_files()) {
    latest = std::max(latest, version_of(file.name));
  }
  return latest;
}

migration_result migrate(pqxx::connection& conn) {
  {
    pqxx::work setup(conn);
    setup.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "  version integer PRIMARY KEY,"
        "  name text NOT NULL,"
        "  applied_at timestamptz NOT NULL DEFAULT now())");
    setup.commit();
  }
  migration_result result;
  const advisory_lock lock(conn, migration_lock_id);
  for (const auto& file : migration_files()) {  // sorted by name, so by number
    const int version = version_of(file.name);
    pqxx::work tx(conn);
    const auto done = tx.exec_params("SELECT 1 FROM schema_migrations WHERE version = $1", version);
    if (done.empty()) {
      tx.exec(std::string(file.data));
      tx.exec_params("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", version,
                     std::string(file.name));
      result.applied.emplace_back(file.name);
    }
    tx.commit();
    result.current_version = version;
  }
  return result;
}

}  // namespace plumb::storage
