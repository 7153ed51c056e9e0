#include "plumb/storage/event_writer.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "plumb/core/clock.hpp"
#include "plumb/pg/copy.hpp"
#include "plumb/storage/partitions.hpp"

namespace plumb::storage {
namespace {

// Deltas are summed per UTC quarter hour first, then per the site's local hour (which PostgreSQL
// names for each quarter hour, from the site's time zone): every time zone offset in use is a
// multiple of 15 minutes, so a UTC quarter hour never straddles a local hour.
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

const std::vector<std::string> dropped_columns{"site_id", "received_at", "event_id"};

// A dimension value of the batch, by reference: the batch's numbers are looked up here (about 40
// per event, mostly repeats) without copying the text into a dictionary key each time.
struct value_ref {
  std::int64_t site_id;
  const std::string* value;  // points into the batch, which outlives write()
};
struct value_ref_hash {
  std::size_t operator()(const value_ref& r) const {
    return std::hash<std::string_view>{}(*r.value) ^
           (std::hash<std::int64_t>{}(r.site_id) * 0x9e3779b97f4a7c15ULL);
  }
};
struct value_ref_equal {
  bool operator()(const value_ref& a, const value_ref& b) const {
    return a.site_id == b.site_id && *a.value == *b.value;
  }
};

// One rollup row's share of a batch, per UTC quarter hour and then per local hour.
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
    "CREATE TEMP TABLE IF NOT EXISTS dropped_staging (LIKE dropped_events) ON COMMIT DELETE ROWS";

constexpr const char* create_rollup_staging_sql =
    "CREATE TEMP TABLE IF NOT EXISTS rollup_rows_staging (site_id bigint, dimension smallint,"
    " bucket timestamp, value_id bigint, pageviews bigint, events bigint, visits bigint,"
    " bounces bigint, duration_ms bigint, revenue numeric, visitors bigint[])"
    " ON COMMIT DELETE ROWS";

// The site's local hour (as a wall-clock timestamp, in ms since 1970-01-01 00:00) of each UTC
// quarter hour of the batch; a site that no longer exists returns no row (its deltas are dropped,
// as the join of the upsert used to do).
constexpr const char* buckets_sql =
    "SELECT u.site_id, u.slot_ms,"
    "  (extract(epoch FROM date_trunc('hour',"
    "                                 to_timestamp(u.slot_ms / 1000) AT TIME ZONE s.timezone))"
    "   * 1000)::bigint"
    " FROM unnest($1::bigint[], $2::bigint[]) AS u(site_id, slot_ms)"
    " JOIN sites s ON s.id = u.site_id";

constexpr const char* insert_events_sql =
    "WITH kept AS (INSERT INTO events SELECT * FROM events_staging"
    "   ON CONFLICT (site_id, received_at, event_id) DO NOTHING RETURNING event_id),"
    " dropped AS (INSERT INTO dropped_events SELECT * FROM dropped_staging"
    "   ON CONFLICT (site_id, received_at, event_id) DO NOTHING RETURNING event_id)"
    " SELECT event_id::text FROM kept UNION ALL SELECT event_id::text FROM dropped";

// Sorted by key so concurrent workers lock rollup rows in the same order (no deadlock cycles).
// The staged rows are already one per rollup key (summed in C++), so no grouping; rows without
// visitors skip the sketch work (an empty sketch leaves the stored one as it is), and the common
// single visitor is added without an aggregate subquery (an order of magnitude cheaper; the same
// sketch as hll_add_agg gives).
constexpr const char* upsert_rollups_sql =
    "INSERT INTO rollups AS r (site_id, dimension, bucket, value_id, pageviews, events, visits,"
    "                          bounces, duration_ms, revenue, visitors)"
    " SELECT st.site_id, st.dimension, st.bucket, st.value_id, st.pageviews, st.events, st.visits,"
    "   st.bounces, st.duration_ms, st.revenue,"
    "   CASE cardinality(st.visitors) WHEN 0 THEN hll_empty()"
    "        WHEN 1 THEN hll_add(hll_empty(), hll_hash_bigint(st.visitors[1]))"
    "        ELSE (SELECT hll_add_agg(hll_hash_bigint(h)) FROM unnest(st.visitors) h) END"
    " FROM rollup_rows_staging st ORDER BY 1, 2, 3, 4"
    " ON CONFLICT (site_id, dimension, bucket, value_id) DO UPDATE SET"
    "   pageviews = r.pageviews + excluded.pageviews, events = r.events + excluded.events,"
    "   visits = r.visits + excluded.visits, bounces = r.bounces + excluded.bounces,"
    "   duration_ms = r.duration_ms + excluded.duration_ms, revenue = r.revenue + excluded.revenue,"
    "   visitors = CASE WHEN excluded.visitors = hll_empty() THEN r.visitors"
    "                   ELSE hll_union(r.visitors, excluded.visitors) END";

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
  std::unordered_map<value_ref, std::int64_t, value_ref_hash, value_ref_equal> ids;
  const auto want = [&](std::int64_t site_id, const std::string& value) {
    if (ids.try_emplace(value_ref{site_id, &value}, 0).second) {
      dictionary_.want(site_id, value);
    }
  };
  dictionary_.begin();
  for (const auto& e : batch) {
    if (!e.dropped) {
      want(e.site_id, e.name);
      for (const auto& v : e.values) {
        want(e.site_id, v);
      }
    }
    for (const auto& d : e.deltas) {
      want(e.site_id, d.value);
    }
  }
  dictionary_.resolve(conn);
  for (auto& [ref, id] : ids) {
    id = dictionary_.id(ref.site_id, *ref.value);
  }
  const auto id_of = [&](std::int64_t site_id, const std::string& value) {
    return ids.find(value_ref{site_id, &value})->second;
  };
  ensure_partitions(conn, batch);

  pqxx::work tx(conn);
  tx.exec(create_rollup_staging_sql);
  pg::copy_row row;
  const auto copy_events = [&](pqxx::transaction_base& t, const char* kept_table,
                               const char* dropped_table) {
    const auto dropped_count = static_cast<std::size_t>(
        std::count_if(batch.begin(), batch.end(), [](const stored_event& e) { return e.dropped; }));
    if (dropped_count < batch.size()) {
      pqxx::stream_to kept(t, kept_table, event_columns());
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
            .integer(id_of(e.site_id, e.name))
            .boolean(e.interactive);
        for (const auto& v : e.values) {
          row.integer(id_of(e.site_id, v));
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
    if (dropped_count > 0) {
      pqxx::stream_to dropped(t, dropped_table, dropped_columns);
      for (const auto& e : batch) {
        if (e.dropped) {
          row.clear();
          row.integer(e.site_id).raw(core::format_utc(e.id.unix_ms())).raw(uuid_text(e.id));
          pg::write_row(dropped, row);
        }
      }
      dropped.complete();
    }
  };
  // Usually every event of a batch is new: COPY straight into events and dropped_events, under a
  // savepoint. A unique violation means some were stored before (a redelivery, or another worker
  // storing the same entries right now): undo that COPY and insert through the staging tables,
  // skipping what exists. Any other error is the batch's own and propagates as before.
  std::optional<std::unordered_set<std::string>> inserted;  // nullopt: every event of the batch
  try {
    pqxx::subtransaction direct(tx, "direct_copy");
    copy_events(direct, "events", "dropped_events");
    direct.commit();
  } catch (const pqxx::unique_violation&) {
    inserted.emplace();
  }
  if (inserted) {
    tx.exec(create_staging_sql);
    copy_events(tx, "events_staging", "dropped_staging");
    for (const auto& r : tx.exec(insert_events_sql)) {
      inserted->insert(r[0].as<std::string>());
    }
  }
  std::map<slot_key, slot_totals> slots;
  for (const auto& e : batch) {
    if (inserted && !inserted->contains(uuid_text(e.id))) {
      continue;
    }
    for (const auto& d : e.deltas) {
      auto& t = slots[slot_key{e.site_id, static_cast<std::int16_t>(d.dimension),
                               d.at_ms - (d.at_ms % slot_ms + slot_ms) % slot_ms,
                               id_of(e.site_id, d.value)}];
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
  // Quarter hours → the site's local hours (one small query per batch, so a changed time zone
  // applies from the next batch as before), then one row per rollup key: PostgreSQL then has
  // nothing to join or group, and a key's quarter hours cost one upsert instead of up to four.
  std::set<std::pair<std::int64_t, std::int64_t>> site_slots;
  for (const auto& [key, t] : slots) {
    site_slots.emplace(key.site_id, key.slot);
  }
  std::vector<std::int64_t> slot_sites, slot_starts;
  for (const auto& [site, slot] : site_slots) {
    slot_sites.push_back(site);
    slot_starts.push_back(slot);
  }
  std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t> bucket_of;
  if (!slots.empty()) {
    const auto buckets =
        tx.exec_params(buckets_sql, pg::bigint_array(slot_sites), pg::bigint_array(slot_starts));
    for (const auto& r : buckets) {
      bucket_of[{r[0].as<std::int64_t>(), r[1].as<std::int64_t>()}] = r[2].as<std::int64_t>();
    }
  }
  std::map<slot_key, slot_totals> rows;  // slot_key::slot holds the local hour here
  for (auto& [key, t] : slots) {
    const auto bucket = bucket_of.find({key.site_id, key.slot});
    if (bucket == bucket_of.end()) {
      continue;
    }
    auto [it, fresh] =
        rows.try_emplace(slot_key{key.site_id, key.dimension, bucket->second, key.value_id});
    if (fresh) {
      it->second = std::move(t);
      continue;
    }
    auto& sum = it->second;
    sum.pageviews += t.pageviews;
    sum.events += t.events;
    sum.visits += t.visits;
    sum.bounces += t.bounces;
    sum.duration_ms += t.duration_ms;
    sum.revenue += t.revenue;
    sum.visitors.insert(sum.visitors.end(), t.visitors.begin(), t.visitors.end());
  }
  {
    pqxx::stream_to staged(tx, "rollup_rows_staging");
    for (auto& [key, t] : rows) {
      if (t.pageviews == 0 && t.events == 0 && t.visits == 0 && t.bounces == 0 &&
          t.duration_ms == 0 && t.revenue == 0 && t.visitors.empty()) {
        continue;  // deltas that cancelled out (a visit moved within the row): adds nothing
      }
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
  const auto added = inserted ? inserted->size() : batch.size();
  return {added, batch.size() - added};
}

}  // namespace plumb::storage
