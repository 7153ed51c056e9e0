#include "plumb/storage/event_writer.hpp"

#include <chrono>
#include <cstdio>
#include <optional>

namespace plumb::storage {
namespace {

// Serialises partition creation across worker processes (CREATE TABLE … PARTITION OF takes
// conflicting locks, and two workers creating the same month would otherwise race).
constexpr long long partition_lock_id = 0x706c756d62'02;

struct month {
  int year;
  unsigned number;  // 1-12
};

month month_of(std::int64_t unix_ms) {
  const auto day = std::chrono::floor<std::chrono::days>(
      std::chrono::sys_time<std::chrono::milliseconds>(std::chrono::milliseconds(unix_ms)));
  const std::chrono::year_month_day ymd(day);
  return {static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month())};
}

std::int64_t month_index(month m) { return std::int64_t{m.year} * 12 + (m.number - 1); }

month from_index(std::int64_t index) {
  return {static_cast<int>(index / 12), static_cast<unsigned>(index % 12) + 1};
}

std::string partition_name(month m) {
  char name[32];
  std::snprintf(name, sizeof name, "events_y%04dm%02u", m.year, m.number);
  return name;
}

std::string month_start(month m) {
  char text[32];
  std::snprintf(text, sizeof text, "%04d-%02u-01 00:00:00+00", m.year, m.number);
  return text;
}

constexpr const char* staging_table = "events_staging";

std::optional<std::string> optional_text(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional<std::string>(s);
}

}  // namespace

void event_writer::ensure_partitions(pqxx::connection& conn, std::span<const events::event> batch) {
  std::set<std::int64_t> missing;
  for (const auto& e : batch) {
    const auto index = month_index(month_of(e.received_ms));
    if (!known_months_.contains(index)) {
      missing.insert(index);
    }
  }
  if (missing.empty()) {
    return;
  }
  pqxx::work tx(conn);
  tx.exec("SELECT pg_advisory_xact_lock(" + std::to_string(partition_lock_id) + ")");
  for (const auto index : missing) {
    const month m = from_index(index);
    // DDL takes no bind parameters; the name and bounds are formatted from integers, never input.
    tx.exec("CREATE TABLE IF NOT EXISTS " + partition_name(m) + " PARTITION OF events FOR VALUES FROM ('" +
            month_start(m) + "') TO ('" + month_start(from_index(index + 1)) + "')");
  }
  tx.commit();
  known_months_.insert(missing.begin(), missing.end());
}

std::size_t event_writer::write(pqxx::connection& conn, std::span<const events::event> batch) {
  if (batch.empty()) {
    return 0;
  }
  ensure_partitions(conn, batch);
  pqxx::work tx(conn);
  // Temporary tables are per session; ON COMMIT DELETE ROWS keeps it empty between batches.
  tx.exec(std::string("CREATE TEMP TABLE IF NOT EXISTS ") + staging_table +
          " (LIKE events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS");
  {
    pqxx::stream_to copy(tx, staging_table,
                         std::vector<std::string>{"site_id", "received_at", "event_id", "name",
                                                  "url", "referrer", "screen_width", "hash_mode",
                                                  "interactive", "visitor_hash", "country", "props",
                                                  "revenue_currency", "revenue_amount"});
    for (const auto& e : batch) {
      copy << std::make_tuple(
          e.site_id, core::format_utc(e.received_ms), e.id.to_string(), e.name, e.url,
          optional_text(e.referrer), e.screen_width, e.hash_mode, e.interactive,
          static_cast<std::int64_t>(e.visitor_hash), optional_text(e.country),
          optional_text(e.props_json),
          e.revenue ? std::optional<std::string>(e.revenue->currency) : std::nullopt,
          e.revenue ? std::optional<std::string>(e.revenue->amount) : std::nullopt);
    }
    copy.complete();
  }
  const auto inserted = tx.exec(
      std::string("INSERT INTO events SELECT * FROM ") + staging_table +
      " ON CONFLICT (site_id, received_at, event_id) DO NOTHING");
  tx.commit();
  return static_cast<std::size_t>(inserted.affected_rows());
}

}  // namespace plumb::storage
