#include "plumb/storage/event_writer.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <tuple>
#include <unordered_set>

#include "plumb/core/clock.hpp"
#include "plumb/pg/copy.hpp"
#include "plumb/storage/partitions.hpp"

namespace plumb::storage {
namespace {

// Deltas are summed per quarter hour (UTC) before they reach PostgreSQL, which buckets them into
// the site's local hours: every time zone offset in use is a multiple of 15 minutes, so a UTC
// quarter hour never straddles a local hour.
constexpr std::int64_t slot_ms = 15 * 60 * 1000;

std::string uuid_text(const core::event_id& id) {
  char text[36];
  id.write_to(text);
  return {text, sizeof text};
}

// The columns of events, in the order write() formats them.
const std::vector<std::string>& event_columns() {
  static const std::vector<std::string> columns = [] {
    std::vector<std::string> all{"site_id", "received_at", "event_id", "visit_id",
                                 "visitor_hash", "name_id", "interactive"};
    for (const auto d : stored_dimensions) {
      all.push_back(std::string(events::name_of(d)) + "_id");
    }
    all.insert(all.end(), {"props", "revenue_currency", "revenue_amount"});
    return all;
  }();
  return columns;
}

// One rollup row's share of a batch, before PostgreSQL buckets it into the site's local hour.
struct slot_key {
  std::int64_t site_id;
  std::int16_t dimension;
  std::int64_t slot;
  std::int64_t value_id;
  auto operator<=>(const slot_key&) const = default;
};

struct slot_totals {
  std::int64_t pageviews = 0, events = 0, visits = 0, bounces = 0, duration_ms = 0;
  micros revenue = 0;
  std::vector<std::int64_t> visitors;
};

// Staging tables live in the session (CREATE … IF NOT EXISTS is a no-op after the first batch)
// and empty themselves at commit.
constexpr const char* create_staging_sql =
    "CREATE TEMP TABLE IF NOT EXISTS events_staging (LIKE events INCLUDING DEFAULTS)"
    " ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS dropped_staging (LIKE dropped_events) ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS rollup_staging (site_id bigint, dimension smallint,"
    " slot timestamptz, value_id bigint, pageviews bigint, events bigint, visits bigint,"
    " bounces bigint, duration_ms bigint, revenue numeric, visitors bigint[])"
    " ON COMMIT DELETE ROWS";

constexpr const char* insert_events_sql =
    "WITH kept AS (INSERT INTO events SELECT * FROM events_staging"
    "   ON CONFLICT (site_id, received_at, event_id) DO NOTHING RETURNING event_id),"
    " dropped AS (INSERT INTO dropped_events SELECT * FROM dropped_staging"
    "   ON CONFLICT (site_id, received_at, event_id) DO NOTHING RETURNING event_id)"
    " SELECT event_id::text FROM kept UNION ALL SELECT event_id::text FROM dropped";

// Sorted by key so concurrent workers lock rollup rows in the same order (no deadlock cycles).
constexpr const char* upsert_rollups_sql =
    "INSERT INTO rollups AS r (site_id, dimension, bucket, value_id, pageviews, events, visits,"
    "                          bounces, duration_ms, revenue, visitors)"
    " SELECT st.site_id, st.dimension, date_trunc('hour', st.slot AT TIME ZONE s.timezone),"
    "   st.value_id, sum(st.pageviews), sum(st.events), sum(st.visits), sum(st.bounces),"
    "   sum(st.duration_ms), sum(st.revenue),"
    "   coalesce(hll_union_agg((SELECT hll_add_agg(hll_hash_bigint(h)) FROM unnest(st.visitors) h)),"
    "            hll_empty())"
    " FROM rollup_staging st JOIN sites s ON s.id = st.site_id"
    " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
    " ON CONFLICT (site_id, dimension, bucket, value_id) DO UPDATE SET"
    "   pageviews = r.pageviews + excluded.pageviews, events = r.events + excluded.events,"
    "   visits = r.visits + excluded.visits, bounces = r.bounces + excluded.bounces,"
    "   duration_ms = r.duration_ms + excluded.duration_ms, revenue = r.revenue + excluded.revenue,"
    "   visitors = hll_union(r.visitors, excluded.visitors)";

}  // namespace

std::optional<micros> parse_micros(std::string_view amount) {
  const bool negative = !amount.empty() && amount.front() == '-';
  if (negative) {
    amount.remove_prefix(1);
  }
  micros whole = 0;
  int fraction_digits = -1;  // -1: before the dot
  bool round_up = false;
  std::size_t digits = 0;
  for (const char c : amount) {
    if (c == '.' && fraction_digits < 0) {
      fraction_digits = 0;
      continue;
    }
    if (c < '0' || c > '9' || ++digits > 30) {
      return std::nullopt;
    }
    if (fraction_digits >= 6) {
      round_up = round_up || (fraction_digits == 6 && c >= '5');
      ++fraction_digits;
      continue;
    }
    whole = whole * 10 + (c - '0');
    if (fraction_digits >= 0) {
      ++fraction_digits;
    }
  }
  if (digits == 0) {
    return std::nullopt;
  }
  for (int i = std::max(fraction_digits, 0); i < 6; ++i) {
    whole *= 10;
  }
  if (round_up) {
    ++whole;
  }
  return negative ? -whole : whole;
}

std::string format_micros(micros amount) {
  const bool negative = amount < 0;
  if (negative) {
    amount = -amount;
  }
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(amount % 10)));
    amount /= 10;
  } while (amount > 0);
  if (digits.size() < 7) {
    digits.insert(0, 7 - digits.size(), '0');
  }
  digits.insert(digits.size() - 6, 1, '.');
  return negative ? "-" + digits : digits;
}

void event_writer::ensure_partitions(pqxx::connection& conn, std::span<const stored_event> batch) {
  std::set<std::int64_t> missing;
  for (const auto& e : batch) {
    const auto index = month_of(e.id.unix_ms()).index();
    if (!known_months_.contains(index)) {
      missing.insert(index);
    }
  }
  if (missing.empty()) {
    return;
  }
  std::vector<month> months;
  for (const auto index : missing) {
    months.push_back(month::from_index(index));
  }
  storage::ensure_partitions(conn, months);
  known_months_.insert(missing.begin(), missing.end());
}

write_result event_writer::write(pqxx::connection& conn, std::span<const stored_event> batch) {
  if (batch.empty()) {
    return {};
  }
  dictionary_.begin();
  for (const auto& e : batch) {
    if (!e.dropped) {
      dictionary_.want(e.site_id, e.name);
      for (const auto& v : e.values) {
        dictionary_.want(e.site_id, v);
      }
    }
    for (const auto& d : e.deltas) {
      dictionary_.want(e.site_id, d.value);
    }
  }
  dictionary_.resolve(conn);
  ensure_partitions(conn, batch);

  pqxx::work tx(conn);
  tx.exec(create_staging_sql);
  pg::copy_row row;
  {
    pqxx::stream_to kept(tx, "events_staging", event_columns());
    for (const auto& e : batch) {
      if (e.dropped) {
        continue;
      }
      row.clear();
      row.integer(e.site_id)
          .raw(core::format_utc(e.id.unix_ms()))
          .raw(uuid_text(e.id))
          .raw(uuid_text(e.visit_id))
          .integer(static_cast<std::int64_t>(e.visitor_hash))
          .integer(dictionary_.id(e.site_id, e.name))
          .boolean(e.interactive);
      for (const auto& v : e.values) {
        row.integer(dictionary_.id(e.site_id, v));
      }
      e.props_json.empty() ? row.null() : row.text(e.props_json);
      if (e.revenue) {
        row.text(e.revenue->currency).raw(e.revenue->amount);
      } else {
        row.null().null();
      }
      pg::write_row(kept, row);
    }
    kept.complete();
  }
  {
    pqxx::stream_to dropped(tx, "dropped_staging");
    for (const auto& e : batch) {
      if (e.dropped) {
        row.clear();
        row.integer(e.site_id).raw(core::format_utc(e.id.unix_ms())).raw(uuid_text(e.id));
        pg::write_row(dropped, row);
      }
    }
    dropped.complete();
  }
  std::unordered_set<std::string> inserted;
  for (const auto& r : tx.exec(insert_events_sql)) {
    inserted.insert(r[0].as<std::string>());
  }

  std::map<slot_key, slot_totals> slots;
  for (const auto& e : batch) {
    if (!inserted.contains(uuid_text(e.id))) {
      continue;
    }
    for (const auto& d : e.deltas) {
      auto& t = slots[slot_key{e.site_id, static_cast<std::int16_t>(d.dimension),
                               d.at_ms - (d.at_ms % slot_ms + slot_ms) % slot_ms,
                               dictionary_.id(e.site_id, d.value)}];
      t.pageviews += d.pageviews;
      t.events += d.events;
      t.visits += d.visits;
      t.bounces += d.bounces;
      t.duration_ms += d.duration_ms;
      if (!d.revenue.empty()) {
        // The collector validated the amount; one PostgreSQL could not store is rejected with
        // the raw row above (numeric overflow), so an unparsable one never gets here unseen.
        t.revenue += parse_micros(d.revenue).value_or(0);
      }
      if (d.adds_visitor) {
        t.visitors.push_back(static_cast<std::int64_t>(e.visitor_hash));
      }
    }
  }
  {
    pqxx::stream_to staged(tx, "rollup_staging");
    for (auto& [key, t] : slots) {
      std::sort(t.visitors.begin(), t.visitors.end());
      t.visitors.erase(std::unique(t.visitors.begin(), t.visitors.end()), t.visitors.end());
      row.clear();
      row.integer(key.site_id)
          .integer(key.dimension)
          .raw(core::format_utc(key.slot))
          .integer(key.value_id)
          .integer(t.pageviews)
          .integer(t.events)
          .integer(t.visits)
          .integer(t.bounces)
          .integer(t.duration_ms)
          .raw(format_micros(t.revenue))
          .raw(pg::bigint_array(t.visitors));
      pg::write_row(staged, row);
    }
    staged.complete();
  }
  tx.exec(upsert_rollups_sql);
  tx.commit();
  return {inserted.size(), batch.size() - inserted.size()};
}

}  // namespace plumb::storage
