#pragma once
// Select-list pieces shared by storage files (defined in tenants.cpp).

#include <pqxx/pqxx>
#include <string>

#include "plumb/storage/tenants.hpp"

namespace plumb::storage {

// The select list site_from_row reads, for the sites table aliased as `alias` ("" for none);
// it fills the first columns of a row.
std::string site_columns(const std::string& alias = {});
site site_from_row(const pqxx::row& row);

// `column` (timestamptz) as ISO 8601 UTC text, "2026-11-21T09:30:00Z".
std::string iso_utc(const std::string& column);

}  // namespace plumb::storage
