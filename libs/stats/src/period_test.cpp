#include "plumb/stats/period.hpp"

#include <catch2/catch.hpp>

using namespace plumb::stats;

namespace {
std::pair<std::string, std::string> days(std::string_view period, std::string_view date) {
  const auto r = resolve_period(period, date, "2024-03-15", "2023-06-01");
  REQUIRE(r);
  return {r->first_day, r->last_day};
}
}  // namespace

TEST_CASE("periods resolve to local calendar days") {
  using p = std::pair<std::string, std::string>;
  CHECK(days("day", "") == p{"2024-03-15", "2024-03-15"});
  CHECK(days("day", "2024-02-29") == p{"2024-02-29", "2024-02-29"});
  CHECK(days("7d", "") == p{"2024-03-09", "2024-03-15"});
  CHECK(days("30d", "2024-03-01") == p{"2024-02-01", "2024-03-01"});  // leap year
  CHECK(days("month", "") == p{"2024-03-01", "2024-03-31"});
  CHECK(days("month", "2024-02-10") == p{"2024-02-01", "2024-02-29"});
  CHECK(days("6mo", "") == p{"2023-10-01", "2024-03-31"});
  CHECK(days("12mo", "") == p{"2023-04-01", "2024-03-31"});
  CHECK(days("year", "") == p{"2024-01-01", "2024-12-31"});
  CHECK(days("custom", "2024-01-05,2024-02-05") == p{"2024-01-05", "2024-02-05"});
}

TEST_CASE("bad periods and dates are refused with a message") {
  CHECK_FALSE(resolve_period("week", "", "2024-03-15", "2023-06-01"));
  CHECK(resolve_period("week", "", "2024-03-15", "2023-06-01").error().find("valid periods") !=
        std::string::npos);
  CHECK_FALSE(resolve_period("day", "2024-02-30", "2024-03-15", "2023-06-01"));
  CHECK_FALSE(resolve_period("day", "2024-2-3", "2024-03-15", "2023-06-01"));
  CHECK_FALSE(resolve_period("day", "2024-02-03x", "2024-03-15", "2023-06-01"));
  CHECK_FALSE(resolve_period("custom", "2024-02-05", "2024-03-15", "2023-06-01"));
  CHECK_FALSE(resolve_period("custom", "2024-02-05,2024-01-05", "2024-03-15", "2023-06-01"));
}

TEST_CASE("all runs from the first day with data, comparisons shift whole ranges") {
  using p = std::pair<std::string, std::string>;
  CHECK(days("all", "") == p{"2023-06-01", "2024-03-15"});
  const date_range week{"2024-03-09", "2024-03-15"};
  CHECK(previous_period(week) == date_range{"2024-03-02", "2024-03-08"});
  CHECK(previous_year(week) == date_range{"2023-03-09", "2023-03-15"});
  CHECK(previous_year({"2024-02-29", "2024-02-29"}) == date_range{"2023-02-28", "2023-02-28"});
  CHECK(previous_period({"2024-03-01", "2024-03-31"}) == date_range{"2024-01-30", "2024-02-29"});
  CHECK(day_count(week) == 7);
}
