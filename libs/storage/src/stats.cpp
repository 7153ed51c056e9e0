#include "plumb/storage/stats.hpp"

#include "plumb/events/dimension.hpp"

namespace plumb::storage {

std::string local_date(pqxx::transaction_base& tx, std::string_view timezone, core::time_point now) {
  return tx
      .exec_params1("SELECT to_char(($1::timestamptz AT TIME ZONE $2)::date, 'YYYY-MM-DD')",
                    core::format_utc(core::unix_ms(now)), std::string(timezone))[0]
      .as<std::string>();
}

std::map<aggregate_metric, std::int64_t> aggregate(pqxx::transaction_base& tx, std::int64_t site_id,
                                                   const date_range& range,
                                                   std::span<const aggregate_metric> metrics) {
  // The site's rollups are bucketed by local hour, so local days are plain timestamp ranges
  // (a DST day holds 23 or 25 hours of buckets, as it should). Visitor sketches are unioned over
  // the range: hashes change daily, so the union counts distinct daily hashes (DESIGN.md §4).
  const auto row = tx.exec_params1(
      "SELECT coalesce(sum(pageviews), 0), coalesce(sum(events), 0),"
      "  coalesce(round(hll_cardinality(hll_union_agg(visitors))), 0)::bigint"
      " FROM rollups"
      " WHERE site_id = $1 AND dimension = $2"
      "   AND bucket >= $3::date AND bucket < $4::date + 1",
      site_id, static_cast<int>(events::dimension::total), range.first_day, range.last_day);
  std::map<aggregate_metric, std::int64_t> out;
  for (const auto metric : metrics) {
    switch (metric) {
      case aggregate_metric::pageviews:
        out[metric] = row[0].as<std::int64_t>();
        break;
      case aggregate_metric::events:
        out[metric] = row[1].as<std::int64_t>();
        break;
      case aggregate_metric::visitors:
        out[metric] = row[2].as<std::int64_t>();
        break;
    }
  }
  return out;
}

}  // namespace plumb::storage
