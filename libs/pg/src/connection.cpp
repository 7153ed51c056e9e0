#include "plumb/pg/connection.hpp"

#include <stdexcept>

namespace plumb::pg {

std::unique_ptr<pqxx::connection> connect(const options& opts) {
  auto conn = std::make_unique<pqxx::connection>(opts.dsn);
  pqxx::nontransaction setup(*conn);
  // set_config with bound values: settings never pass through SQL text.
  setup.exec_params("SELECT set_config('statement_timeout', $1, false), "
                    "set_config('application_name', $2, false), set_config('TimeZone', 'UTC', false)",
                    std::to_string(opts.statement_timeout.count()), opts.application_name);
  setup.commit();
  return conn;
}

pool::pool(options opts, std::size_t size)
    : core::pool<pqxx::connection>(
          size, [opts = std::move(opts)] { return connect(opts); },
          [](const pqxx::connection& conn) { return conn.is_open(); }, "PostgreSQL") {}

}  // namespace plumb::pg
