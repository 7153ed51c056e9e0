#pragma once
// Who the current transaction acts for, as row-level security sees it (migration 0005): the
// dashboard calls one of these first in every transaction. The setting is transaction-local, so
// a pooled connection never carries it into the next request.

#include <cstdint>
#include <pqxx/pqxx>

namespace plumb::storage {

// A signed-in account, or an API key's account: sees the sites it is a member of.
void act_as_account(pqxx::transaction_base& tx, std::int64_t account_id);
// A visitor of a shared link: sees that link's site, read-only.
void act_as_shared_link(pqxx::transaction_base& tx, std::int64_t shared_link_id);

}  // namespace plumb::storage
