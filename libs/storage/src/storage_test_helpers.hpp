#pragma once
// Fixtures shared by the storage library's PostgreSQL tests.

#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "plumb/storage/event_writer.hpp"
#include "plumb/storage/tenants.hpp"

namespace plumb::storage::testing {

// A kept pageview with the one delta the worker would give a one-event visit's total row.
inline stored_event pageview(std::int64_t site_id, std::int64_t received_ms, std::uint64_t visitor = 1) {
  stored_event e;
  e.id = core::event_id::generate(core::from_unix_ms(received_ms));
  e.site_id = site_id;
  e.visitor_hash = visitor;
  e.visit_id = e.id;
  e.name = "pageview";
  e.values.fill("");
  e.values[1] = "/";
  rollup_delta total;
  total.at_ms = received_ms;
  total.pageviews = 1;
  total.adds_visitor = true;
  e.deltas.push_back(total);
  return e;
}

// One account with a site per zone, "site<i>.example"; returns the site ids in order.
inline std::vector<std::int64_t> make_sites(pqxx::connection& conn, const std::vector<std::string>& zones) {
  pqxx::work tx(conn);
  const auto owner = create_account(tx, "owner@example.com", "a long password");
  std::vector<std::int64_t> ids;
  for (std::size_t i = 0; i < zones.size(); ++i) {
    ids.push_back(create_site(tx, owner.id, "site" + std::to_string(i) + ".example", zones[i]).id);
  }
  tx.commit();
  return ids;
}

}  // namespace plumb::storage::testing
