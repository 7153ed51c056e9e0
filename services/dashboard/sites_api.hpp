#pragma once
// Sites and their settings, goals, shared links and teams (README, "Dashboard API"). Every change
// that collectors care about republishes the site map after it commits.

#include "authz.hpp"

namespace plumb::dashboard {

void add_site_routes(secure_routes& routes);

}  // namespace plumb::dashboard
