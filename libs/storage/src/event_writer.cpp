#include "plumb/storage/event_writer.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <string_view>
#include <tuple>
#include <unordered_set>

#include "plumb/core/clock.hpp"
#include "plumb/pg/copy.hpp"
#include "plumb/storage/partitions.hpp"

namespace plumb::storage {
namespace {

// Deltas are summed per UTC quarter hour first, then per the site's local day (and, for the site
// total, also per local hour; events::rollup_bucket_ms), which PostgreSQL names for each quarter
// hour from the site's time zone: every time zone offset in use is a multiple of 15 minutes, so a
// UTC quarter hour never straddles a local hour.
constexpr std::int64_t slot_ms = 15 * 60 * 1000;

// The canonical text of an id, in a caller's buffer (no allocation per event).
std::string_view uuid_text(const core::event_id& id, char (&text)[36]) {
  id.write_to(text);
  return {text, sizeof text};
}

// The columns of events, in the order write() formats them.
const std::vector<std::string>& event_columns() {
  static const std::vector<std::string> columns = [] {
    std::vector<std::string> all{"site_id",      "received_at", "event_id",   "visit_id",
                                 "visitor_hash", "name_id",     "interactive"};
    for (const auto d : stored_dimensions) {
      all.push_back(std::string(events::name_of(d)) + "_id");
    }
    all.insert(all.end(), {"props", "revenue_currency", "revenue_amount"});
    return all;
  }();
  return columns;
}

const std::vector<std::string> dropped_columns{"site_id", "received_at", "event_id"};

// The distinct (site, value) pairs of a batch, numbered densely in order of first sight: a batch
// has about 60 values per event, mostly repeats, so each is hashed once here (by reference, the
// batch outlives write()) and everything after works with the number. Open addressing with
// linear probing; the table stays at most half full.
class value_table {
 public:
  struct entry {
    std::int64_t site_id;
    std::string_view value;
    std::uint64_t hash;
  };

  explicit value_table(std::size_t expected) {
    std::size_t capacity = 64;
    while (capacity < 2 * expected) {
      capacity *= 2;
    }
    slots_.assign(capacity, 0);
    entries_.reserve(expected);
  }

  // The number of (site_id, value); a pair not seen before gets the next one.
  std::uint32_t index(std::int64_t site_id, std::string_view value) {
    // Many values are views of one string (an event's page in its values and its deltas, a
    // visit's attribution in the deltas that remove and add it): the same view of the same site
    // is the same value (the batch does not change under write()), so skip hashing its bytes.
    auto& seen = seen_[((reinterpret_cast<std::uintptr_t>(value.data()) >> 3) ^ value.size()) &
                       (seen_.size() - 1)];
    if (seen.data == value.data() && seen.size == value.size() && seen.site_id == site_id &&
        seen.data != nullptr) {
      return seen.index;
    }
    const auto found = lookup(site_id, value);
    seen = {value.data(), value.size(), site_id, found};
    return found;
  }

  const std::vector<entry>& entries() const { return entries_; }

 private:
  struct seen_view {
    const char* data = nullptr;
    std::size_t size = 0;
    std::int64_t site_id = 0;
    std::uint32_t index = 0;
  };

  std::uint32_t lookup(std::int64_t site_id, std::string_view value) {
    const auto h = hash(site_id, value);
    const auto mask = slots_.size() - 1;
    for (auto i = static_cast<std::size_t>(h) & mask;; i = (i + 1) & mask) {
      const auto slot = slots_[i];
      if (slot == 0) {
        entries_.push_back({site_id, value, h});
        slots_[i] = static_cast<std::uint32_t>(entries_.size());
        if (2 * entries_.size() > slots_.size()) {
          grow();
        }
        return static_cast<std::uint32_t>(entries_.size() - 1);
      }
      const auto& e = entries_[slot - 1];
      // Most repeats are views of the same string (an event's value in several deltas).
      if (e.hash == h && e.site_id == site_id && e.value == value) {
        return slot - 1;
      }
    }
  }

  // Short strings dominate (paths, browser names): a word at a time, mixed by multiplication.
  static std::uint64_t hash(std::int64_t site_id, std::string_view value) {
    constexpr std::uint64_t k = 0x9e3779b97f4a7c15ULL;
    auto h = (static_cast<std::uint64_t>(site_id) * k) ^ value.size();
    const char* p = value.data();
    auto n = value.size();
    const auto mix = [&h](std::uint64_t w) {
      h = (h ^ w) * 0xff51afd7ed558ccdULL;
      h ^= h >> 32;
    };
    for (; n >= 8; p += 8, n -= 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      mix(w);
    }
    if (n > 0) {
      std::uint64_t w = 0;
      std::memcpy(&w, p, n);
      mix(w);
    }
    h *= k;
    return h ^ (h >> 29);
  }

  void grow() {
    std::vector<std::uint32_t> bigger(2 * slots_.size(), 0);
    const auto mask = bigger.size() - 1;
    for (std::size_t n = 0; n < entries_.size(); ++n) {
      auto i = static_cast<std::size_t>(entries_[n].hash) & mask;
      while (bigger[i] != 0) {
        i = (i + 1) & mask;
      }
      bigger[i] = static_cast<std::uint32_t>(n + 1);
    }
    slots_ = std::move(bigger);
  }

  std::vector<std::uint32_t> slots_;  // 0: empty, else 1 + index into entries_
  std::vector<entry> entries_;
  std::array<seen_view, 1024> seen_{};  // recent views, by address
};

// The site's local hour and day (wall-clock ms) of one UTC quarter hour of the batch, with their
// COPY texts.
struct local_slot {
  std::int64_t site_id;
  std::int64_t slot;
  std::int64_t hour;
  std::int64_t day;
  std::string hour_text;
  std::string day_text;
};

// One rollup row's share of a batch: one upsert per row. Its visitors are a list in
// visitor_link (consecutive deltas of one event add the same visitor once).
struct rollup_row {
  std::int64_t site_id;
  std::int64_t bucket;
  std::int64_t value_id;
  const std::string* bucket_text;  // owned by a local_slot
  std::int16_t dimension;
  std::int64_t pageviews = 0, events = 0, visits = 0, bounces = 0, duration_ms = 0;
  micros revenue = 0;
  std::int64_t last_visitor = 0;
  std::uint32_t visitors = 0;  // 0: none, else 1 + index of the latest visitor_link
};
struct visitor_link {
  std::int64_t visitor;
  std::uint32_t next;  // 0: the end, else 1 + index of the previous link
};

std::uint64_t row_hash(std::int64_t site_id, std::int16_t dimension, std::int64_t bucket,
                       std::int64_t value_id) {
  constexpr std::uint64_t k = 0x9e3779b97f4a7c15ULL;
  auto h = static_cast<std::uint64_t>(site_id) * k;
  h = (h ^ static_cast<std::uint64_t>(value_id)) * 0xff51afd7ed558ccdULL;
  h = (h ^ static_cast<std::uint64_t>(bucket) ^ (static_cast<std::uint64_t>(dimension) << 56)) * k;
  return h ^ (h >> 31);
}

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
  // The number of every value of the batch, in the order the loop below meets them: per kept
  // event its name and values, then per event its deltas' values.
  std::size_t value_count = 0;
  for (const auto& e : batch) {
    value_count += (e.dropped ? 0 : 1 + e.values.size()) + e.deltas.size();
  }
  std::vector<std::uint32_t> value_index;
  value_index.reserve(value_count);
  value_table values(std::max<std::size_t>(256, value_count / 16));
  std::vector<std::size_t> delta_offset;  // per event, its first delta's place in value_index
  delta_offset.reserve(batch.size());
  for (const auto& e : batch) {
    if (!e.dropped) {
      value_index.push_back(values.index(e.site_id, e.name));
      for (const auto& v : e.values) {
        value_index.push_back(values.index(e.site_id, v));
      }
    }
    delta_offset.push_back(value_index.size());
    for (const auto& d : e.deltas) {
      value_index.push_back(values.index(e.site_id, d.value));
    }
  }
  dictionary_.begin();
  std::string text;  // reused: the dictionary takes std::string
  for (const auto& v : values.entries()) {
    text.assign(v.value);
    dictionary_.want(v.site_id, text);
  }
  dictionary_.resolve(conn);
  std::vector<std::int64_t> ids;
  ids.reserve(values.entries().size());
  for (const auto& v : values.entries()) {
    text.assign(v.value);
    ids.push_back(dictionary_.id(v.site_id, text));
  }
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
      std::size_t next = 0;  // into value_index
      for (const auto& e : batch) {
        if (e.dropped) {
          next += e.deltas.size();
          continue;
        }
        char id_text[36];
        char visit_text[36];
        row.clear();
        row.integer(e.site_id)
            .raw(core::format_utc(e.id.unix_ms()))
            .raw(uuid_text(e.id, id_text))
            .raw(uuid_text(e.visit_id, visit_text))
            .integer(static_cast<std::int64_t>(e.visitor_hash))
            .integer(ids[value_index[next++]])
            .boolean(e.interactive);
        for (std::size_t i = 0; i < e.values.size(); ++i) {
          row.integer(ids[value_index[next++]]);
        }
        next += e.deltas.size();
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
          char id_text[36];
          row.integer(e.site_id)
              .raw(core::format_utc(e.id.unix_ms()))
              .raw(uuid_text(e.id, id_text));
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
  std::vector<char> counted(batch.size(), 1);  // the events whose deltas count
  if (inserted) {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      char id_text[36];
      counted[i] = inserted->contains(std::string(uuid_text(batch[i].id, id_text))) ? 1 : 0;
    }
  }
  const auto slot_of = [](std::int64_t at_ms) {
    return at_ms - (at_ms % slot_ms + slot_ms) % slot_ms;
  };
  // Quarter hours → the site's local hours and days (one small query per batch, so a changed time
  // zone applies from the next batch as before), then one row per rollup key: PostgreSQL then has
  // nothing to join or group, and a key's quarter hours cost one upsert instead of up to 96.
  std::vector<std::pair<std::int64_t, std::int64_t>> site_slots;  // (site, quarter hour)
  std::size_t delta_count = 0;  // rows at most: one per delta, two for a total's
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (counted[i] == 0) {
      continue;
    }
    const auto& e = batch[i];
    delta_count += e.deltas.size();
    for (const auto& d : e.deltas) {
      delta_count += d.dimension == events::dimension::total ? 1 : 0;
      const std::pair site_slot{e.site_id, slot_of(d.at_ms)};
      if (site_slots.empty() || site_slots.back() != site_slot) {
        site_slots.push_back(site_slot);
      }
    }
  }
  std::sort(site_slots.begin(), site_slots.end());
  site_slots.erase(std::unique(site_slots.begin(), site_slots.end()), site_slots.end());
  std::vector<local_slot> hours;
  if (!site_slots.empty()) {
    std::vector<std::int64_t> slot_sites, slot_starts;
    slot_sites.reserve(site_slots.size());
    slot_starts.reserve(site_slots.size());
    for (const auto& [site, slot] : site_slots) {
      slot_sites.push_back(site);
      slot_starts.push_back(slot);
    }
    const auto buckets =
        tx.exec_params(buckets_sql, pg::bigint_array(slot_sites), pg::bigint_array(slot_starts));
    hours.reserve(static_cast<std::size_t>(buckets.size()));
    constexpr auto day_ms = events::rollup_bucket_ms(events::dimension::total);
    for (const auto& r : buckets) {
      const auto hour = r[2].as<std::int64_t>();
      const auto day = hour - (hour % day_ms + day_ms) % day_ms;
      hours.push_back({r[0].as<std::int64_t>(), r[1].as<std::int64_t>(), hour, day,
                       core::format_utc(hour), core::format_utc(day)});
    }
    std::sort(hours.begin(), hours.end(), [](const local_slot& a, const local_slot& b) {
      return std::tie(a.site_id, a.slot) < std::tie(b.site_id, b.slot);
    });
  }
  // Sum the deltas per rollup row, in a hash table of row numbers (open addressing, at most half
  // full: a batch has no more rows than deltas).
  std::vector<rollup_row> rows;
  rows.reserve(delta_count);
  std::vector<visitor_link> links;
  links.reserve(delta_count);
  std::size_t table_size = 64;
  while (table_size < 2 * delta_count) {
    table_size *= 2;
  }
  std::vector<std::uint32_t> table(table_size, 0);  // 0: empty, else 1 + index into rows
  const auto mask = table_size - 1;
  // Adds one delta of event `e` to its row (dimension, bucket, value).
  const auto add_delta = [&](const stored_event& e, const rollup_delta& d, std::int64_t value_id,
                             std::int16_t dimension, std::int64_t bucket,
                             const std::string& bucket_text) {
    auto h = static_cast<std::size_t>(row_hash(e.site_id, dimension, bucket, value_id)) & mask;
    while (true) {
      const auto slot_row = table[h];
      if (slot_row == 0) {
        rows.push_back({e.site_id, bucket, value_id, &bucket_text, dimension});
        table[h] = static_cast<std::uint32_t>(rows.size());
        break;
      }
      const auto& r = rows[slot_row - 1];
      if (r.value_id == value_id && r.bucket == bucket && r.dimension == dimension &&
          r.site_id == e.site_id) {
        break;
      }
      h = (h + 1) & mask;
    }
    auto& t = rows[table[h] - 1];
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
    const auto add_visitor = [&](std::uint64_t hash) {
      const auto visitor = static_cast<std::int64_t>(hash);
      if (t.visitors == 0 || t.last_visitor != visitor) {
        links.push_back({visitor, t.visitors});
        t.visitors = static_cast<std::uint32_t>(links.size());
        t.last_visitor = visitor;
      }
    };
    if (d.adds_visitor) {
      add_visitor(e.visitor_hash);
    }
    for (const auto hash : d.visit_visitors) {
      add_visitor(hash);
    }
  };
  const local_slot* last = nullptr;  // consecutive deltas mostly share their quarter hour
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (counted[i] == 0) {
      continue;
    }
    const auto& e = batch[i];
    auto next = delta_offset[i];  // into value_index
    for (const auto& d : e.deltas) {
      const auto value_id = ids[value_index[next++]];
      const auto slot = slot_of(d.at_ms);
      if (last == nullptr || last->site_id != e.site_id || last->slot != slot) {
        const auto it = std::lower_bound(
            hours.begin(), hours.end(), std::pair{e.site_id, slot},
            [](const local_slot& h, const std::pair<std::int64_t, std::int64_t>& k) {
              return std::pair{h.site_id, h.slot} < k;
            });
        if (it == hours.end() || it->site_id != e.site_id || it->slot != slot) {
          last = nullptr;
          continue;  // the site is gone: its deltas are dropped
        }
        last = &*it;
      }
      add_delta(e, d, value_id, static_cast<std::int16_t>(d.dimension), last->day, last->day_text);
      if (d.dimension == events::dimension::total) {
        add_delta(e, d, value_id, static_cast<std::int16_t>(events::dimension::total_hourly),
                  last->hour, last->hour_text);
      }
    }
  }
  {
    pqxx::stream_to staged(tx, "rollup_rows_staging");
    std::vector<std::int64_t> visitors;
    std::string visitors_text;
    for (const auto& t : rows) {
      visitors.clear();
      for (auto link = t.visitors; link != 0; link = links[link - 1].next) {
        visitors.push_back(links[link - 1].visitor);
      }
      if (t.pageviews == 0 && t.events == 0 && t.visits == 0 && t.bounces == 0 &&
          t.duration_ms == 0 && t.revenue == 0 && visitors.empty()) {
        continue;  // deltas that cancelled out (a visit moved within the row): adds nothing
      }
      std::sort(visitors.begin(), visitors.end());
      visitors.erase(std::unique(visitors.begin(), visitors.end()), visitors.end());
      pg::bigint_array(visitors, visitors_text);
      row.clear();
      row.integer(t.site_id)
          .integer(t.dimension)
          .raw(*t.bucket_text)
          .integer(t.value_id)
          .integer(t.pageviews)
          .integer(t.events)
          .integer(t.visits)
          .integer(t.bounces)
          .integer(t.duration_ms)
          .raw(format_micros(t.revenue))
          .raw(visitors_text);
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
