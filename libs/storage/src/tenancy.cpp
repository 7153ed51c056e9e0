#include "plumb/storage/tenancy.hpp"

#include <string>

namespace plumb::storage {

void act_as_account(pqxx::transaction_base& tx, std::int64_t account_id) {
  tx.exec_params("SELECT set_config('plumb.account_id', $1, true)", std::to_string(account_id));
}

void act_as_shared_link(pqxx::transaction_base& tx, std::int64_t shared_link_id) {
  tx.exec_params("SELECT set_config('plumb.shared_link_id', $1, true)", std::to_string(shared_link_id));
}

}  // namespace plumb::storage
