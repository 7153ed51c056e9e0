#include "plumb/stats/period.hpp"

#include <chrono>
#include <cstdio>
#include <optional>

namespace plumb::stats {
namespace {

using namespace std::chrono;

std::optional<year_month_day> parse_date(std::string_view text) {
  int y = 0;
  unsigned m = 0;
  unsigned d = 0;
  char tail = 0;
  if (text.size() != 10 ||
      std::sscanf(std::string(text).c_str(), "%4d-%2u-%2u%c", &y, &m, &d, &tail) != 3) {
    return std::nullopt;
  }
  const year_month_day ymd{year(y), month(m), day(d)};
  if (!ymd.ok() || y < 1970 || y > 9999) {
    return std::nullopt;
  }
  return ymd;
}

std::string format(year_month_day ymd) {
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return text;
}

date_range range(year_month_day first, year_month_day last) {
  return {format(first), format(last)};
}

year_month_day last_of_month(year_month_day d) {
  return year_month_day(d.year() / d.month() / std::chrono::last);
}

}  // namespace

expected<date_range, std::string> resolve_period(std::string_view period, std::string_view date,
                                                 std::string_view today,
                                                 std::string_view first_day) {
  if (period == "custom") {
    const auto comma = date.find(',');
    const auto first =
        comma == std::string_view::npos ? std::nullopt : parse_date(date.substr(0, comma));
    const auto last =
        comma == std::string_view::npos ? std::nullopt : parse_date(date.substr(comma + 1));
    if (!first || !last || sys_days(*first) > sys_days(*last)) {
      return unexpected<std::string>(
          "custom periods need date=YYYY-MM-DD,YYYY-MM-DD (first <= last)");
    }
    return range(*first, *last);
  }
  if (period == "all") {
    const auto first = parse_date(first_day);
    const auto last = parse_date(today);
    if (!first || !last) {
      return unexpected<std::string>("the site's first day and today must be YYYY-MM-DD");
    }
    return sys_days(*first) > sys_days(*last) ? range(*last, *last) : range(*first, *last);
  }
  const auto anchor = parse_date(date.empty() ? today : date);
  if (!anchor) {
    return unexpected<std::string>("date must be YYYY-MM-DD");
  }
  const sys_days d(*anchor);
  const year_month first_of_month = anchor->year() / anchor->month();
  if (period == "day") {
    return range(*anchor, *anchor);
  }
  if (period == "7d") {
    return range(year_month_day(d - days(6)), *anchor);
  }
  if (period == "30d") {
    return range(year_month_day(d - days(29)), *anchor);
  }
  if (period == "month") {
    return range(first_of_month / 1, last_of_month(*anchor));
  }
  if (period == "6mo") {
    return range((first_of_month - months(5)) / 1, last_of_month(*anchor));
  }
  if (period == "12mo") {
    return range((first_of_month - months(11)) / 1, last_of_month(*anchor));
  }
  if (period == "year") {
    return range(anchor->year() / January / 1, anchor->year() / December / 31);
  }
  return unexpected("unknown period '" + std::string(period.substr(0, 40)) +
                    "'; valid periods: " + std::string(valid_periods));
}

date_range previous_period(const date_range& r) {
  const sys_days first(*parse_date(r.first_day));
  const sys_days last(*parse_date(r.last_day));
  const auto length = last - first + days(1);
  return range(year_month_day(first - length), year_month_day(first - days(1)));
}

date_range previous_year(const date_range& r) {
  const auto shift = [](year_month_day d) {
    const year_month_day moved = (d.year() - years(1)) / d.month() / d.day();
    return moved.ok() ? moved
                      : year_month_day((d.year() - years(1)) / d.month() / std::chrono::last);
  };
  return range(shift(*parse_date(r.first_day)), shift(*parse_date(r.last_day)));
}

int day_count(const date_range& r) {
  return static_cast<int>(
             (sys_days(*parse_date(r.last_day)) - sys_days(*parse_date(r.first_day))).count()) +
         1;
}

}  // namespace plumb::stats
