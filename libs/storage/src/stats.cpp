#include "plumb/storage/stats.hpp"

namespace plumb::storage {

std::string local_date(pqxx::transaction_base& tx, std::string_view timezone, core::time_point now) {
  return tx
      .exec_params1("SELECT to_char(($1::timestamptz AT TIME ZONE $2)::date, 'YYYY-MM-DD')",
                    core::format_utc(core::unix_ms(now)), std::string(timezone))[0]
      .as<std::string>();
}

std::map<aggregate_metric, std::int64_t> aggregate(pqxx::transaction_base& tx, std::int64_t site_id,
                                                   std::string_view timezone, const date_range& range,
                                                   std::span<const aggregate_metric> metrics) {
  // One pass over the site's events in the range: local day bounds are converted to instants by
  // PostgreSQL (AT TIME ZONE), so DST days are 23 or 25 hours long as they should be.
  const auto row = tx.exec_params1(
      "WITH scoped AS ("
      "  SELECT name, visitor_hash, (received_at AT TIME ZONE $2)::date AS day FROM events"
      "  WHERE site_id = $1"
      "    AND received_at >= ($3::date)::timestamp AT TIME ZONE $2"
      "    AND received_at < ($4::date + 1)::timestamp AT TIME ZONE $2)"
      "SELECT"
      "  count(*) FILTER (WHERE name = 'pageview'),"
      "  count(*) FILTER (WHERE name <> 'pageview'),"
      "  (SELECT count(*) FROM (SELECT DISTINCT day, visitor_hash FROM scoped) AS daily)"
      " FROM scoped",
      site_id, std::string(timezone), range.first_day, range.last_day);
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
