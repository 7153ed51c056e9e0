#pragma once
// Plausible Stats API periods -> calendar days in the site's timezone. Pure, unit-tested.

#include <string>
#include <string_view>

#include "plumb/core/expected.hpp"
#include "plumb/stats/query.hpp"

namespace plumb::stats {

inline constexpr std::string_view valid_periods =
    "realtime, day, 7d, 30d, month, 6mo, 12mo, year, all, custom";

// `period` and the optional `date` parameter ("YYYY-MM-DD", or "YYYY-MM-DD,YYYY-MM-DD" for
// custom) resolved against `today` (the site's local date); `first_day` is the site's first day
// with data (for "all"; `today` when it has none). Errors are messages for the client.
// day: the date; 7d/30d: the 7/30 days ending on the date; month/year: the calendar month/year
// of the date; 6mo/12mo: that month and the 5/11 before it; all: first_day..today. "realtime" is
// not a range of days: callers handle it before calling this.
expected<date_range, std::string> resolve_period(std::string_view period, std::string_view date,
                                                 std::string_view today,
                                                 std::string_view first_day);

// The range compared with `range`: the same number of days just before it, or the same days one
// year earlier (29 February maps to 28 February).
date_range previous_period(const date_range& range);
date_range previous_year(const date_range& range);

// Days from first_day to last_day inclusive (ranges are valid by construction).
int day_count(const date_range& range);

}  // namespace plumb::stats
