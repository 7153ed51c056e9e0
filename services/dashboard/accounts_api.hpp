#pragma once
// Accounts: sign-up, login and logout, password change and reset, API keys, and accepting
// invitations (README, "Dashboard API").

#include "authz.hpp"

namespace plumb::dashboard {

void add_account_routes(secure_routes& routes);

}  // namespace plumb::dashboard
