#pragma once
// Stats queries. Every query takes the site id as a bound parameter and filters on it first.

#include <cstdint>
#include <map>
#include <pqxx/pqxx>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "plumb/core/clock.hpp"

namespace plumb::storage {

// Calendar days in the site's timezone, both ends included, as "YYYY-MM-DD".
struct date_range {
  std::string first_day;
  std::string last_day;
};

enum class aggregate_metric { visitors, pageviews, events };

// The site's local calendar date at instant `now` (DST and :30/:45 offsets handled by PostgreSQL).
std::string local_date(pqxx::transaction_base& tx, std::string_view timezone, core::time_point now);

// Totals over the days of `range`, in the site's timezone. Visitors are distinct daily visitor
// hashes summed over days (DESIGN.md §4: multi-day ranges count distinct daily hashes).
std::map<aggregate_metric, std::int64_t> aggregate(pqxx::transaction_base& tx, std::int64_t site_id,
                                                   const date_range& range,
                                                   std::span<const aggregate_metric> metrics);

}  // namespace plumb::storage
