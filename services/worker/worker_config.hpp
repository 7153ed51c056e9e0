#pragma once

#include <chrono>
#include <string>

#include "plumb/config/env_reader.hpp"
#include "plumb/enrich/referrer.hpp"
#include "plumb/runtime/service.hpp"

namespace plumb::worker {

struct worker_config {
  runtime::common_settings common;
  std::string pg_dsn;
  std::string consumer_name;  // unique per worker process within the consumer group
  // Larger batches sum more deltas into each rollup row before PostgreSQL upserts it (3,000
  // instead of 1,000 cut PostgreSQL's CPU per event by about a third; docs/BENCHMARKS.md).
  std::size_t batch_size = 3'000;
  std::chrono::milliseconds batch_wait{1'000};
  std::chrono::milliseconds statement_timeout{60'000};
  // Entries pending this long with any consumer are taken over (their worker probably died).
  std::chrono::milliseconds claim_idle{60'000};
  // At most this many workers (over all processes) write to PostgreSQL at once; 0: no cap.
  std::size_t max_db_writers = 0;
  // While the ingest stream is backlogged, one site may fill at most this share of a batch.
  std::size_t site_share_percent = 10;
  // An entry delivered this many times without being stored is dead-lettered.
  std::int64_t max_deliveries = 5;
  config::listen_address listen;  // /healthz and /metrics
  // Referrer hosts whose hits are dropped as spam: PLUMB_REFERRER_SPAM_LIST (a Matomo-format
  // list), else a small built-in list.
  enrich::spam_filter referrer_spam = enrich::spam_filter::builtin();

  static worker_config from_env(config::env_reader& env);
  static std::string help();
};

}  // namespace plumb::worker
