#include "worker.hpp"

#include <set>
#include <thread>

namespace plumb::worker {
namespace {
// Pause after a failed round before retrying, so an outage does not become a busy loop.
constexpr std::chrono::milliseconds retry_pause{500};
// How often consumed entries are trimmed from the stream: often enough that Redis memory tracks
// the backlog, rarely enough that the XINFO/XPENDING/XTRIM round trips cost nothing.
constexpr std::chrono::seconds trim_interval{5};
// How often a worker creates next months' partitions, applies sites' data retention and settles
// past days' rollup rows. Any worker may; advisory locks and SKIP LOCKED make concurrent runs safe.
constexpr std::chrono::minutes maintenance_interval{10};
// How many batches' worth a round reads from an ingest stream a site floods (see process_once).
constexpr std::size_t backlog_read_factor = 4;
// A database write slot for the scope of one transaction, when writers are capped.
class held_slot {
 public:
  held_slot(queue::write_slots* slots, const std::string& holder, std::chrono::milliseconds wait)
      : slots_(slots), holder_(holder) {
    if (slots_ != nullptr && !slots_->acquire(holder_, wait)) {
      throw std::runtime_error("no database write slot freed up (PLUMB_WORKER_MAX_DB_WRITERS)");
    }
  }
  ~held_slot() {
    if (slots_ == nullptr) {
      return;
    }
    try {
      slots_->release(holder_);
    } catch (const std::exception&) {
      // Redis is gone: the lease runs out by itself, and the batch outcome must not change.
    }
  }
  held_slot(const held_slot&) = delete;
  held_slot& operator=(const held_slot&) = delete;

 private:
  queue::write_slots* slots_;
  const std::string& holder_;
};

}  // namespace

worker::worker(const worker_config& cfg, log::logger& log, metrics::registry& registry)
    : cfg_(cfg),
      log_(log),
      registry_(registry),
      enricher_(cfg.referrer_spam),
      stored_(registry.counter("plumb_worker_events_total", "Stream events by outcome.",
                               R"(outcome="stored")")),
      duplicates_(registry.counter("plumb_worker_events_total", "Stream events by outcome.",
                                   R"(outcome="duplicate")")),
      dead_lettered_(registry.counter("plumb_worker_events_total", "Stream events by outcome.",
                                      R"(outcome="dead_lettered")")),
      failures_(registry.counter("plumb_worker_batch_failures_total",
                                 "Batches that failed and will be retried.")),
      trimmed_(registry.counter("plumb_worker_trimmed_total",
                                "Consumed entries removed from the stream.")),
      deferred_events_(registry.counter(
          "plumb_worker_deferred_total",
          "Events of sites over their share of a backlog, moved to the deferred stream.")),
      freshness_(
          registry.histogram("plumb_worker_freshness_seconds",
                             "From collector accept to committed in the rollups, per stored event.",
                             {0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600})) {}

std::string worker::last_error() const {
  const std::lock_guard lock(error_mutex_);
  return last_error_;
}

void worker::connect() {
  if (!redis_ || redis_->broken()) {
    consumer_.reset();
    deferred_.reset();
    write_slots_.reset();
    // The blocking read waits up to batch_wait: the command timeout must outlast it.
    redis_ = std::make_unique<redis::connection>(
        cfg_.common.redis, redis::timeouts{std::chrono::milliseconds(2'000),
                                           cfg_.batch_wait + std::chrono::milliseconds(5'000)});
    consumer_ = std::make_unique<queue::consumer>(*redis_, cfg_.common.keys, cfg_.consumer_name);
    consumer_->ensure_group();
    deferred_ = std::make_unique<queue::consumer>(*redis_, cfg_.common.keys, cfg_.consumer_name,
                                                  cfg_.common.keys.deferred_stream());
    deferred_->ensure_group();
    visits_ = std::make_unique<visits::tracker>(*redis_, cfg_.common.keys);
    if (cfg_.max_db_writers > 0) {
      // A lease outlives any transaction (statement_timeout bounds each statement of it).
      write_slots_ = std::make_unique<queue::write_slots>(
          *redis_, cfg_.common.keys, cfg_.max_db_writers, 4 * cfg_.statement_timeout);
    }
  }
  if (!pg_ || !pg_->is_open()) {
    pg_ = pg::connect({cfg_.pg_dsn, cfg_.statement_timeout, "plumb-worker"});
  }
}

std::size_t worker::process_once() {
  connect();
  if (std::chrono::steady_clock::now() - trimmed_at_ >= trim_interval) {
    trimmed_at_ = std::chrono::steady_clock::now();
    trimmed_.inc(static_cast<std::uint64_t>(queue::trim_consumed(*redis_, cfg_.common.keys)));
  }
  if (std::chrono::steady_clock::now() - maintained_at_ >= maintenance_interval) {
    maintained_at_ = std::chrono::steady_clock::now();
    maintain();
  }
  // Now and then, take over what crashed workers left pending (and dead-letter what keeps failing).
  if (std::chrono::steady_clock::now() - claimed_at_ >= cfg_.claim_idle / 2) {
    claimed_at_ = std::chrono::steady_clock::now();
    for (auto* from : {consumer_.get(), deferred_.get()}) {
      auto claim = from->claim_idle(cfg_.claim_idle, cfg_.batch_size, cfg_.max_deliveries);
      for (const auto& m : claim.exhausted) {
        from->dead_letter(
            m, "delivered " + std::to_string(cfg_.max_deliveries) + " times without being stored");
        dead_lettered_.inc();
      }
      if (!claim.claimed.empty()) {
        const auto n = claim.claimed.size();
        store(std::move(claim.claimed));
        return n;
      }
    }
  }
  if (drain_pending_) {
    auto pending = consumer_->read_pending(cfg_.batch_size);
    if (pending.empty()) {
      pending = deferred_->read_pending(cfg_.batch_size);
    }
    if (pending.empty()) {
      drain_pending_ = false;
      return 0;
    }
    const auto n = pending.size();
    store(std::move(pending));
    return n;
  }

  // While a flood fills the backlog, a round reads several batches' worth: the flooding site's
  // excess only moves to the deferred stream, so the backlog ahead of other sites' events drains
  // that much faster than events can be stored.
  const std::size_t read_count = flooded_ ? cfg_.batch_size * backlog_read_factor : cfg_.batch_size;
  auto messages = consumer_->read_new(read_count, std::chrono::milliseconds(0));
  flooded_ = false;
  std::size_t deferred_room =
      messages.size() < cfg_.batch_size ? cfg_.batch_size - messages.size() : 0;
  if (messages.size() >= cfg_.batch_size) {
    // At least a full batch waiting means a backlog: no site may take more than its share of
    // this round, so one site's flood does not hold every other site's events up behind it.
    messages = take_fair_share(std::move(messages));
    deferred_room = site_quota();
  }
  // Deferred events get the spare capacity (and at least one site's share, so they never starve).
  auto deferred = deferred_->read_new(deferred_room, std::chrono::milliseconds(0));
  messages.insert(messages.end(), std::make_move_iterator(deferred.begin()),
                  std::make_move_iterator(deferred.end()));
  if (messages.empty()) {
    messages = consumer_->read_new(cfg_.batch_size, cfg_.batch_wait);  // idle: wait for traffic
  }
  const auto n = messages.size();
  store(std::move(messages));
  return n;
}

void worker::maintain() {
  const auto now = core::system_clock::instance().now();
  const auto created = storage::create_partitions_ahead(*pg_, now);
  const auto retention = storage::apply_retention(*pg_, now);
  const auto settled = storage::settle_rollups(*pg_, now);
  if (!created.empty() || !retention.partitions_dropped.empty() || retention.events_deleted > 0 ||
      retention.rollups_deleted > 0 || retention.visit_rows_deleted > 0 || settled > 0) {
    log_.info("maintenance", {{"partitions_created", static_cast<std::int64_t>(created.size())},
                              {"events_deleted", retention.events_deleted},
                              {"rollups_deleted", retention.rollups_deleted},
                              {"visit_rows_deleted", retention.visit_rows_deleted},
                              {"rollups_settled", settled},
                              {"partitions_dropped",
                               static_cast<std::int64_t>(retention.partitions_dropped.size())}});
  }
}

std::size_t worker::site_quota() const {
  return std::max<std::size_t>(1, cfg_.batch_size * cfg_.site_share_percent / 100);
}

std::vector<queue::message> worker::take_fair_share(std::vector<queue::message> messages) {
  std::map<std::string, std::size_t, std::less<>> taken;  // by the event's raw site field
  std::vector<queue::message> kept;
  std::vector<queue::message> excess;
  const auto quota = site_quota();
  for (auto& m : messages) {
    std::string site;
    for (const auto& [field, value] : m.fields) {
      if (field == "site") {
        site = value;
        break;
      }
    }
    // Entries without a site are kept: decoding will dead-letter them.
    const bool keep = site.empty() || ++taken[std::move(site)] <= quota;
    (keep ? kept : excess).push_back(std::move(m));
  }
  if (!excess.empty()) {
    consumer_->defer(excess, cfg_.common.keys.deferred_stream());
    deferred_events_.inc(excess.size());
  }
  // More than half a batch over quota: some site dominates the backlog (not just the ups and
  // downs of many sites' shares).
  flooded_ = 2 * excess.size() > cfg_.batch_size;
  return kept;
}

void worker::store(std::vector<queue::message> messages) {
  for (std::size_t first = 0; first < messages.size(); first += cfg_.batch_size) {
    store_batch(
        std::span(messages).subspan(first, std::min(cfg_.batch_size, messages.size() - first)));
  }
}

void worker::store_batch(std::span<queue::message> messages) {
  std::vector<events::event> decoded;
  std::vector<queue::message> accepted;
  decoded.reserve(messages.size());
  accepted.reserve(messages.size());
  for (auto& m : messages) {
    auto event = events::decode(m.fields);
    if (!event) {
      // Malformed events can never succeed: park them with their error instead of retrying.
      consumer_->dead_letter(m, event.error().field + ": " + event.error().message);
      dead_lettered_.inc();
      log_.rate_limited(log::level::warn, "dead-letter", std::chrono::seconds(10),
                        "dead-lettered a malformed stream entry",
                        {{"stream_id", m.stream_id}, {"field", event.error().field}});
      continue;
    }
    decoded.push_back(std::move(*event));
    accepted.push_back(std::move(m));
  }

  ingest::batch events(enricher_, std::move(decoded));
  // Idempotent per event: a retried batch gets the same transitions back (see visits::tracker).
  const auto transitions = visits_->apply(events.hits());
  const auto batch = events.stored(transitions);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (batch[i].dropped) {
      dropped_counter(events.drop_reason(i)).inc();
    }
  }
  store_or_bisect(batch, accepted);
}

metrics::counter& worker::dropped_counter(std::string_view reason) {
  auto it = dropped_.find(reason);
  if (it == dropped_.end()) {
    it = dropped_
             .emplace(std::string(reason),
                      &registry_.counter("plumb_worker_dropped_total",
                                         "Events not counted, by reason (also tallied per site).",
                                         "reason=\"" + std::string(reason) + "\""))
             .first;
  }
  return *it->second;
}

void worker::store_or_bisect(std::span<const storage::stored_event> batch,
                             std::span<const queue::message> messages) {
  if (batch.empty()) {
    return;
  }
  try {
    const held_slot slot(write_slots_.get(), cfg_.consumer_name, cfg_.statement_timeout);
    const auto written = writer_.write(*pg_, batch);
    const auto committed_ms = core::unix_ms(core::system_clock::instance().now());
    for (const auto& e : batch) {
      freshness_.observe(static_cast<double>(committed_ms - e.id.unix_ms()) / 1000.0);
    }
    invalidate_cached_stats(batch, committed_ms);
    consumer_->ack(messages);
    stored_.inc(written.inserted);
    duplicates_.inc(written.duplicates);
    return;
  } catch (const pqxx::broken_connection&) {
    throw;  // infrastructure: retry the whole batch later
  } catch (const pqxx::sql_error& e) {
    // SQLSTATE classes 22 (data exception) and 23 (constraint violation) blame the rows; anything
    // else (timeouts, resources, bugs) is retried whole.
    const std::string state = e.sqlstate();
    if (state.rfind("22", 0) != 0 && state.rfind("23", 0) != 0) {
      throw;
    }
    if (batch.size() == 1) {
      consumer_->dead_letter(messages[0], std::string("rejected by PostgreSQL: ") + e.what());
      dead_lettered_.inc();
      log_.rate_limited(log::level::warn, "dead-letter", std::chrono::seconds(10),
                        "dead-lettered an event PostgreSQL rejected",
                        {{"stream_id", messages[0].stream_id}, {"sqlstate", state}});
      return;
    }
  }
  const auto half = batch.size() / 2;
  store_or_bisect(batch.first(half), messages.first(half));
  store_or_bisect(batch.subspan(half), messages.subspan(half));
}

void worker::invalidate_cached_stats(std::span<const storage::stored_event> batch,
                                     std::int64_t committed_ms) {
  // Before the ack: if Redis fails here, the batch is redelivered and the bump retried.
  std::set<std::int64_t> sites;
  for (const auto& e : batch) {
    if (!e.dropped && committed_ms - e.id.unix_ms() >= events::late_event_ms) {
      sites.insert(e.site_id);
    }
  }
  for (const auto site : sites) {
    redis_->command({"INCR", cfg_.common.keys.stats_version(site)});
  }
}

void worker::fail(const std::exception& e) {
  failures_.inc();
  drain_pending_ = true;
  if (redis_ && redis_->broken()) {
    redis_.reset();
  }
  if (pg_ && !pg_->is_open()) {
    pg_.reset();
  }
  {
    const std::lock_guard lock(error_mutex_);
    last_error_ = e.what();
  }
  log_.rate_limited(log::level::warn, "batch", std::chrono::seconds(10),
                    "batch failed; it will be retried", {{"error", e.what()}});
}

void worker::run(const std::function<bool()>& should_stop) {
  while (!should_stop()) {
    try {
      process_once();
      const std::lock_guard lock(error_mutex_);
      last_error_.clear();
    } catch (const std::exception& e) {
      // The one boundary for a unit of work: nothing was acknowledged, so nothing is lost.
      fail(e);
      std::this_thread::sleep_for(retry_pause);
    }
  }
}

}  // namespace plumb::worker
