#pragma once
// Every Redis key Plumb uses, in one place. All keys share a prefix (tests get their own).
// The prefix should carry a Redis Cluster hash tag (e.g. "{plumb}:") when keys must share a slot.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace plumb::events {

// Events older than this when a worker stores them bump their site's stats_version; the dashboard
// caches only periods that ended longer ago than this, so no cached period can miss one.
inline constexpr std::int64_t late_event_ms = 3'600'000;

class keys {
 public:
  explicit keys(std::string prefix = "plumb:") : prefix_(std::move(prefix)) {}

  // The ingest stream collectors append to and workers consume.
  std::string events_stream() const { return prefix_ + "events"; }
  // Entries of sites that took more than their share of a backlogged ingest stream, moved aside
  // by workers so other sites' events are not held up behind them (processed with spare capacity).
  std::string deferred_stream() const { return prefix_ + "events:deferred"; }
  // Sorted set of database write leases (worker name -> expiry), capping concurrent writers.
  std::string db_write_slots() const { return prefix_ + "db-write-slots"; }
  // Entries that failed processing repeatedly, with their error.
  std::string dead_letter_stream() const { return prefix_ + "events:dead"; }
  // Hash: registered domain -> site descriptor JSON; published by plumbctl / the dashboard.
  std::string site_map() const { return prefix_ + "sites"; }
  // String: 32 random bytes for one UTC day ("2026-11-21"); expires after the next day ends.
  std::string daily_salt(std::string_view utc_date) const {
    return prefix_ + "salt:" + std::string(utc_date);
  }
  // Integer per site, incremented by workers when they store a late event (older than
  // late_event_ms): cached stats of closed periods are keyed by it (libs/stats/result_cache.hpp).
  std::string stats_version(std::int64_t site_id) const {
    return prefix_ + "stats:version:" + std::to_string(site_id);
  }
  // A cached stats result of one site under one data version.
  std::string stats_result(std::int64_t site_id, std::string_view version, std::string_view digest) const {
    return prefix_ + "stats:result:" + std::to_string(site_id) + ":" + std::string(version) + ":" +
           std::string(digest);
  }
  // Dashboard sign-ins. Hash per session, named by the SHA-256 (hex) of the cookie value, so a
  // copy of Redis holds no usable cookie; a set per account of its sessions (revoke all).
  std::string session(std::string_view token_hash) const { return prefix_ + "session:" + std::string(token_hash); }
  std::string account_sessions(std::int64_t account_id) const {
    return prefix_ + "account-sessions:" + std::to_string(account_id);
  }
  // Counter of attempts in the current window; `subject_hash` is a keyed hash, never an address.
  std::string rate_limit(std::string_view bucket, std::string_view subject_hash) const {
    return prefix_ + "ratelimit:" + std::string(bucket) + ":" + std::string(subject_hash);
  }
  // Single-use password reset token (by its SHA-256) -> the account it may reset.
  std::string password_reset(std::string_view token_hash) const {
    return prefix_ + "password-reset:" + std::string(token_hash);
  }
  // Visit state of a site (libs/visits): a hash per visitor under this prefix, and the live set.
  std::string visit_prefix(std::int64_t site_id) const {
    return prefix_ + "visit:{" + std::to_string(site_id) + "}:";
  }
  std::string live_visitors(std::int64_t site_id) const {
    return prefix_ + "live:{" + std::to_string(site_id) + "}";
  }
  // Everything Redis keeps about one site: these keys and every key under these prefixes, deleted
  // with the site (its site_map() entry goes when the map is next published). A new per-site key
  // must be covered here.
  std::vector<std::string> site_state_keys(std::int64_t site_id) const {
    return {live_visitors(site_id), stats_version(site_id)};
  }
  std::vector<std::string> site_state_prefixes(std::int64_t site_id) const {
    return {visit_prefix(site_id), prefix_ + "stats:result:" + std::to_string(site_id) + ":"};
  }
  const std::string& prefix() const { return prefix_; }

  // Consumer group all workers join.
  static constexpr std::string_view worker_group = "plumb-workers";

 private:
  std::string prefix_;
};

}  // namespace plumb::events
