#include "plumb/storage/partitions.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <set>
#include <stdexcept>

#include "plumb/events/dimension.hpp"
#include "plumb/pg/copy.hpp"

namespace plumb::storage {
namespace {

// Serialises every change to the set of partitions (CREATE TABLE … PARTITION OF and DROP TABLE
// take conflicting locks, and two workers creating the same month would otherwise race).
constexpr long long partition_lock_id = 0x706c756d62'02;
// Held for a whole retention run (session level: the run spans many transactions), so only one
// process deletes at a time; the others return at once.
constexpr long long retention_lock_id = 0x706c756d62'03;

// How long dropping a partition waits for its table's lock. Dropping takes ACCESS EXCLUSIVE on the
// parent table, and while it waits every new reader and writer of that table queues behind it: a
// short wait, then give up until the next run, keeps a long report query from stalling ingestion.
constexpr const char* drop_lock_timeout = "2s";

constexpr std::int64_t ms_per_day = 24LL * 60 * 60 * 1000;

// Bound on each statement while the parent table is locked (the re-check and the DROP): beyond
// it, give up until the next run rather than keep ingestion waiting.
constexpr const char* drop_statement_timeout = "10s";

// PostgreSQL SQLSTATEs meaning "the table was too busy": lock_not_available (lock_timeout),
// deadlock_detected, and query_canceled (statement_timeout).
bool is_busy(const pqxx::sql_error& e) {
  return e.sqlstate() == "55P03" || e.sqlstate() == "40P01" || e.sqlstate() == "57014";
}

std::string month_start(month m) {
  char text[32];
  std::snprintf(text, sizeof text, "%04d-%02u-01 00:00:00+00", m.year, m.number);
  return text;
}

std::int64_t month_start_ms(month m) {
  const std::chrono::sys_days day = std::chrono::year_month_day(
      std::chrono::year(m.year), std::chrono::month(m.number), std::chrono::day(1));
  return std::chrono::duration_cast<std::chrono::milliseconds>(day.time_since_epoch()).count();
}

// The month of a partition named by partition_name(table, …), or nullopt for any other name
// (those are never touched).
std::optional<month> month_of_partition(std::string_view table, const std::string& name) {
  int year = 0;
  unsigned number = 0;
  const auto prefix = std::string(table) + "_y%4dm%2u";
  if (std::sscanf(name.c_str(), prefix.c_str(), &year, &number) != 2 || number < 1 || number > 12 ||
      partition_name(table, month{year, number}) != name) {
    return std::nullopt;
  }
  return month{year, number};
}

struct partition {
  std::string name;
  std::int64_t start_ms;
  std::int64_t end_ms;
};

// Partitions of `table` that partition_name() names, oldest first.
std::vector<partition> partitions_of(pqxx::connection& conn, std::string_view table) {
  pqxx::nontransaction tx(conn);
  std::vector<partition> found;
  for (const auto& row :
       tx.exec_params("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                      " WHERE i.inhparent = $1::regclass",
                      std::string(table))) {
    const auto name = row[0].as<std::string>();
    if (const auto m = month_of_partition(table, name)) {
      found.push_back(
          {name, month_start_ms(*m), month_start_ms(month::from_index(m->index() + 1))});
    }
  }
  std::sort(found.begin(), found.end(),
            [](const partition& a, const partition& b) { return a.start_ms < b.start_ms; });
  return found;
}

// pg_try_advisory_lock for the guard's lifetime; locked() says whether this session got it.
class try_advisory_lock {
 public:
  try_advisory_lock(pqxx::connection& conn, long long id) : conn_(conn), id_(id) {
    locked_ = pqxx::nontransaction(conn_)
                  .exec1("SELECT pg_try_advisory_lock(" + std::to_string(id_) + ")")[0]
                  .as<bool>();
  }
  ~try_advisory_lock() {
    if (!locked_) {
      return;
    }
    try {
      pqxx::nontransaction(conn_).exec("SELECT pg_advisory_unlock(" + std::to_string(id_) + ")");
    } catch (const pqxx::broken_connection&) {
      // The server released the session's locks together with the connection.
    }
  }
  try_advisory_lock(const try_advisory_lock&) = delete;
  try_advisory_lock& operator=(const try_advisory_lock&) = delete;

  bool locked() const { return locked_; }

 private:
  pqxx::connection& conn_;
  long long id_;
  bool locked_ = false;
};

struct site_retention {
  std::int64_t id;
  std::string timezone;
  std::int64_t cutoff_ms;  // data received before this instant expires
};

// Deletes the rows of `table` matching `condition` (on its own columns, with `args` as $1...),
// retention_batch_rows per statement and transaction, until none is left; returns how many. ctid
// addresses rows within one table: `table` is never a partitioned parent.
template <typename... Args>
std::int64_t delete_in_batches(pqxx::connection& conn, const std::string& table,
                               const std::string& condition, const Args&... args) {
  const std::string statement =
      "DELETE FROM " + table + " WHERE ctid = ANY(ARRAY(SELECT ctid FROM " + table + " WHERE " +
      condition + " LIMIT " + std::to_string(retention_batch_rows) + ")) AND " + condition;
  std::int64_t total = 0;
  for (;;) {
    pqxx::work tx(conn);
    const auto deleted =
        static_cast<std::int64_t>(tx.exec_params(statement, args...).affected_rows());
    tx.commit();
    total += deleted;
    if (deleted < retention_batch_rows) {
      return total;
    }
  }
}

// Deletes one site's rows received before the cutoff from one partition.
std::int64_t expire_partition_rows(pqxx::connection& conn, const std::string& partition_table,
                                   const site_retention& site) {
  return delete_in_batches(conn, partition_table, "site_id = $1 AND received_at < $2::timestamptz",
                           site.id, core::format_utc(site.cutoff_ms));
}

// Deletes one site's rollup rows whose bucket (a local day, or hour for the hourly totals) ends at
// or before the cutoff, in the site's local time (buckets are local wall-clock times), from both
// rollup tables.
std::int64_t expire_rollups(pqxx::connection& conn, const site_retention& site) {
  using events::dimension;
  std::int64_t deleted = 0;
  for (const std::string table : {"rollups", "rollups_settled"}) {
    deleted += delete_in_batches(
        conn, table,
        "site_id = $1 AND bucket + CASE WHEN dimension = $4 THEN $5::bigint ELSE $6::bigint END"
        " * interval '1 ms' <= ($2::timestamptz AT TIME ZONE $3)",
        site.id, core::format_utc(site.cutoff_ms), site.timezone,
        static_cast<int>(dimension::total_hourly),
        events::rollup_bucket_ms(dimension::total_hourly),
        events::rollup_bucket_ms(dimension::total));
  }
  return deleted;
}

// Likewise for the visit rows of whole local days before the cutoff (migration 0012), and their
// days' marks.
std::int64_t expire_visit_rows(pqxx::connection& conn, const site_retention& site) {
  std::int64_t deleted = 0;
  for (const std::string table : {"visits", "visit_days"}) {
    deleted += delete_in_batches(
        conn, table, "site_id = $1 AND (day + 1)::timestamp <= ($2::timestamptz AT TIME ZONE $3)",
        site.id, core::format_utc(site.cutoff_ms), site.timezone);
  }
  return deleted;
}

enum class drop_outcome { dropped, kept, busy };

// Whether `partition_table` holds a row of a site outside `expired_sites`.
bool holds_kept_rows(pqxx::transaction_base& tx, const std::string& partition_table,
                     const std::vector<std::int64_t>& expired_sites) {
  return tx
      .exec_params1("SELECT EXISTS (SELECT 1 FROM " + partition_table +
                        " WHERE site_id <> ALL($1::bigint[]) LIMIT 1)",
                    pg::bigint_array(expired_sites))[0]
      .as<bool>();
}

// Drops `p` of `table` unless it holds a row of a site outside `expired_sites` (those whose cutoff
// is at or after the partition's end). The deciding check runs with the parent and the partition
// locked, so no row can arrive between it and the drop; a first check without those locks and a
// VACUUM (which clears the dead rows the deletes left, and takes no lock writers wait for) keep
// that locked window short.
drop_outcome drop_if_expired(pqxx::connection& conn, std::string_view table, const partition& p,
                             const std::vector<std::int64_t>& expired_sites) {
  {
    pqxx::read_transaction tx(conn);
    if (holds_kept_rows(tx, p.name, expired_sites)) {
      return drop_outcome::kept;
    }
  }
  pqxx::nontransaction(conn).exec("VACUUM " + p.name);
  try {
    pqxx::work tx(conn);
    tx.exec(std::string("SET LOCAL lock_timeout = '") + drop_lock_timeout + "'");
    tx.exec(std::string("SET LOCAL statement_timeout = '") + drop_statement_timeout + "'");
    // Same order as the writers (advisory lock, then parent, then partition): no deadlock cycle.
    tx.exec("SELECT pg_advisory_xact_lock(" + std::to_string(partition_lock_id) + ")");
    tx.exec("LOCK TABLE ONLY " + std::string(table) + " IN ACCESS EXCLUSIVE MODE");
    tx.exec("LOCK TABLE " + p.name + " IN ACCESS EXCLUSIVE MODE");
    if (holds_kept_rows(tx, p.name, expired_sites)) {
      return drop_outcome::kept;
    }
    tx.exec("DROP TABLE " + p.name);
    tx.commit();
    return drop_outcome::dropped;
  } catch (const pqxx::sql_error& e) {
    if (is_busy(e)) {
      return drop_outcome::busy;
    }
    throw;
  }
}

}  // namespace

month month_of(std::int64_t unix_ms) {
  const auto day = std::chrono::floor<std::chrono::days>(
      std::chrono::sys_time<std::chrono::milliseconds>(std::chrono::milliseconds(unix_ms)));
  const std::chrono::year_month_day ymd(day);
  return {static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month())};
}

std::string partition_name(std::string_view table, month m) {
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, "_y%04dm%02u", m.year, m.number);
  return std::string(table) + suffix;
}

std::vector<std::string> ensure_partitions(pqxx::connection& conn, std::span<const month> months) {
  const std::set<month> wanted(months.begin(), months.end());
  std::vector<std::string> created;
  if (wanted.empty()) {
    return created;
  }
  pqxx::work tx(conn);
  tx.exec("SELECT pg_advisory_xact_lock(" + std::to_string(partition_lock_id) + ")");
  for (const auto m : wanted) {
    for (const auto table : partitioned_tables) {
      const auto name = partition_name(table, m);
      // Under the lock nobody else creates partitions, so what exists now is what this call
      // did not create.
      if (!tx.exec_params1("SELECT to_regclass($1) IS NULL", name)[0].as<bool>()) {
        continue;
      }
      // DDL takes no bind parameters; names and bounds are formatted from integers, never input.
      tx.exec("CREATE TABLE IF NOT EXISTS " + name + " PARTITION OF " + std::string(table) +
              " FOR VALUES FROM ('" + month_start(m) + "') TO ('" +
              month_start(month::from_index(m.index() + 1)) + "')");
      created.push_back(name);
    }
  }
  tx.commit();
  return created;
}

void ensure_partitions(pqxx::connection& conn, std::int64_t from_ms, std::int64_t to_ms) {
  if (to_ms < from_ms) {
    return;
  }
  const auto first = month_of(from_ms).index();
  const auto last = month_of(to_ms).index();
  if (last - first >= max_partition_months_per_call) {
    throw std::invalid_argument("ensure_partitions: range spans more than " +
                                std::to_string(max_partition_months_per_call) + " months");
  }
  std::vector<month> months;
  for (auto i = first; i <= last; ++i) {
    months.push_back(month::from_index(i));
  }
  ensure_partitions(conn, months);
}

std::vector<std::string> create_partitions_ahead(pqxx::connection& conn, core::time_point now,
                                                 int months_ahead) {
  if (months_ahead < 0 || months_ahead >= max_partition_months_per_call) {
    throw std::invalid_argument("create_partitions_ahead: months_ahead must be 0 to " +
                                std::to_string(max_partition_months_per_call - 1));
  }
  const auto first = month_of(core::unix_ms(now)).index();
  std::vector<month> months;
  for (auto i = first; i <= first + months_ahead; ++i) {
    months.push_back(month::from_index(i));
  }
  return ensure_partitions(conn, months);
}

retention_result apply_retention(pqxx::connection& conn, core::time_point now) {
  retention_result result;
  const try_advisory_lock lock(conn, retention_lock_id);
  if (!lock.locked()) {
    return result;
  }
  result.ran = true;

  const auto now_ms = core::unix_ms(now);
  std::vector<site_retention> sites;
  {
    pqxx::nontransaction tx(conn);
    for (const auto& row : tx.exec("SELECT id, timezone, retention_days FROM sites"
                                   " WHERE retention_days IS NOT NULL ORDER BY id")) {
      sites.push_back({row[0].as<std::int64_t>(), row[1].as<std::string>(),
                       now_ms - row[2].as<std::int64_t>() * ms_per_day});
    }
  }
  if (sites.empty()) {
    return result;
  }
  const auto latest_cutoff =
      std::max_element(sites.begin(), sites.end(), [](const auto& a, const auto& b) {
        return a.cutoff_ms < b.cutoff_ms;
      })->cutoff_ms;

  for (const auto table : partitioned_tables) {
    auto& deleted = table == "events" ? result.events_deleted : result.dropped_events_deleted;
    const auto partitions = partitions_of(conn, table);
    for (const auto& site : sites) {
      for (const auto& p : partitions) {
        if (p.start_ms < site.cutoff_ms) {
          deleted += expire_partition_rows(conn, p.name, site);
        }
      }
    }
    for (const auto& p : partitions) {
      if (p.end_ms > latest_cutoff) {
        break;  // oldest first: no later partition is expired for any site either
      }
      std::vector<std::int64_t> expired_sites;
      for (const auto& site : sites) {
        if (site.cutoff_ms >= p.end_ms) {
          expired_sites.push_back(site.id);
        }
      }
      switch (drop_if_expired(conn, table, p, expired_sites)) {
        case drop_outcome::dropped:
          result.partitions_dropped.push_back(p.name);
          break;
        case drop_outcome::busy:
          result.partitions_busy.push_back(p.name);
          break;
        case drop_outcome::kept:
          break;
      }
    }
  }
  for (const auto& site : sites) {
    result.rollups_deleted += expire_rollups(conn, site);
    result.visit_rows_deleted += expire_visit_rows(conn, site);
  }
  return result;
}

}  // namespace plumb::storage
