#pragma once
// Plausible Stats API periods -> calendar days in the site's timezone. Pure, unit-tested.

#include <string>
#include <string_view>

#include "plumb/core/expected.hpp"
#include "plumb/storage/stats.hpp"

namespace plumb::dashboard {

inline constexpr std::string_view valid_periods = "day, 7d, 30d, month, 6mo, 12mo, year, custom";

// `period` and the optional `date` parameter ("YYYY-MM-DD", or "YYYY-MM-DD,YYYY-MM-DD" for
// custom) resolved against `today` (the site's local date). Errors are messages for the client.
// day: the date; 7d/30d: the 7/30 days ending on the date; month/year: the calendar month/year
// of the date; 6mo/12mo: that month and the 5/11 before it.
expected<storage::date_range, std::string> resolve_period(std::string_view period,
                                                          std::string_view date,
                                                          std::string_view today);

}  // namespace plumb::dashboard
