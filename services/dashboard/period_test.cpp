#include "period.hpp"

#include <catch2/catch.hpp>

using plumb::dashboard::resolve_period;

namespace {
std::pair<std::string, std::string> days(std::string_view period, std::string_view date) {
  const auto r = resolve_period(period, date, "2024-03-15");
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
  CHECK_FALSE(resolve_period("week", "", "2024-03-15"));
  CHECK(resolve_period("week", "", "2024-03-15").error().find("valid periods") != std::string::npos);
  CHECK_FALSE(resolve_period("day", "2024-02-30", "2024-03-15"));
  CHECK_FALSE(resolve_period("day", "2024-2-3", "2024-03-15"));
  CHECK_FALSE(resolve_period("day", "2024-02-03x", "2024-03-15"));
  CHECK_FALSE(resolve_period("custom", "2024-02-05", "2024-03-15"));
  CHECK_FALSE(resolve_period("custom", "2024-02-05,2024-01-05", "2024-03-15"));
}
