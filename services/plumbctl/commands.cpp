#include "commands.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <optional>
#include <thread>

#include "plumb/core/event_id.hpp"
#include "plumb/datagen/generator.hpp"
#include "plumb/enrich/referrer.hpp"
#include "plumb/enrich/user_agent.hpp"
#include "plumb/ingest/history_loader.hpp"
#include "plumb/json/writer.hpp"
#include "plumb/pg/connection.hpp"
#include "plumb/queue/stream.hpp"
#include "plumb/redis/connection.hpp"
#include "plumb/runtime/service.hpp"
#include "plumb/storage/migrations.hpp"
#include "plumb/storage/rollup_settling.hpp"
#include "plumb/storage/site_map_publisher.hpp"
#include "plumb/storage/tenants.hpp"

namespace plumb::plumbctl {
namespace {

// A usage mistake: reported with a pointer to --help, exit status 2.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct settings {
  std::string pg_dsn;
  runtime::common_settings common;
};

settings read_settings(const config::lookup_fn& lookup) {
  config::env_reader env(lookup);
  settings s;
  s.common = runtime::read_common(env);
  s.pg_dsn = env.connection_url("PLUMB_PG_DSN", "postgresql://plumb@127.0.0.1:5432/plumb");
  env.finish();
  return s;
}

// Parsed command line: positional words and --flag value pairs (--flag alone = "true"). A flag
// given several times keeps its last value in `flags` and every value, in order, in `repeated`.
struct command_line {
  std::vector<std::string> words;
  std::map<std::string, std::string> flags;
  std::map<std::string, std::vector<std::string>> repeated;

  std::string required(const std::string& flag) const {
    const auto it = flags.find(flag);
    if (it == flags.end() || it->second.empty() || it->second == "true") {
      throw usage_error("--" + flag + " is required");
    }
    return it->second;
  }
  bool has(const std::string& flag) const { return flags.contains(flag); }
};

struct command_spec {
  std::vector<std::string> required;
  std::vector<std::string> optional;
  std::string argument;  // the one positional argument after the command's words, if any
};

const std::map<std::string, command_spec>& commands() {
  static const std::map<std::string, command_spec> specs{
      {"migrate", {{}, {}, {}}},
      {"account create", {{"email", "password"}, {"exists-ok"}, {}}},
      {"site create", {{"tz", "account"}, {"exists-ok", "ignore-dnt"}, "DOMAIN"}},
      {"site publish", {{}, {}, {}}},
      {"api-key create", {{"account"}, {"scope"}, {}}},
      {"ua", {{}, {}, {}}},
      {"referrer", {{}, {}, {}}},
      {"dlq list", {{}, {"limit"}, {}}},
      {"dlq retry", {{}, {"id", "all"}, {}}},
      {"gen",
       {{"site", "events"}, {"weight", "days", "seed", "start", "live", "bulk", "tail-pages"}, {}}},
  };
  return specs;
}

bool is_boolean_flag(const std::string& name) {
  return name == "exists-ok" || name == "help" || name == "all" || name == "ignore-dnt" ||
         name == "bulk";
}

command_line parse(const std::vector<std::string>& args) {
  command_line cl;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("--", 0) != 0) {
      cl.words.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::string value = "true";
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.erase(eq);
    } else if (!is_boolean_flag(name)) {
      if (i + 1 >= args.size()) {
        throw usage_error("--" + name + " needs a value");
      }
      value = args[++i];
    }
    cl.flags[name] = value;
    cl.repeated[name].push_back(value);
  }
  return cl;
}

// The command's name, after checking its words and flags against its spec (no I/O yet, so a
// usage mistake is reported as one before anything is touched).
std::string command_name(const command_line& cl) {
  if (cl.words.empty()) {
    throw usage_error("no command given");
  }
  const bool one_word = cl.words[0] == "migrate" || cl.words[0] == "gen" || cl.words[0] == "ua" ||
                        cl.words[0] == "referrer" || cl.words.size() < 2;
  const std::string name = one_word ? cl.words[0] : cl.words[0] + " " + cl.words[1];
  const auto spec = commands().find(name);
  if (spec == commands().end()) {
    throw usage_error("unknown command '" + name + "'");
  }
  const std::size_t command_words = one_word ? 1 : 2;
  const auto& argument = spec->second.argument;
  if (cl.words.size() != command_words + (argument.empty() ? 0 : 1)) {
    throw usage_error("'" + name + "' takes " +
                      (argument.empty() ? "no arguments" : "one " + argument));
  }
  for (const auto& [flag, value] : cl.flags) {
    const auto& s = spec->second;
    if (std::find(s.required.begin(), s.required.end(), flag) == s.required.end() &&
        std::find(s.optional.begin(), s.optional.end(), flag) == s.optional.end()) {
      throw usage_error("'" + name + "' has no option --" + flag);
    }
  }
  for (const auto& flag : spec->second.required) {
    cl.required(flag);
  }
  return name;
}

storage::account require_account(pqxx::transaction_base& tx, const std::string& email) {
  auto account = storage::find_account(tx, email);
  if (!account) {
    throw storage::invalid_input("account", "no account with email " + email);
  }
  return *account;
}

void publish_sites(pqxx::transaction_base& tx, const settings& s) {
  redis::connection redis(s.common.redis);
  storage::publish_site_map(tx, redis, s.common.keys);
}

// Most entries a dlq command reads at once.
constexpr std::size_t max_dead_letters = 100'000;

// The dead-letter stream needs only Redis.
int execute_dlq(const command_line& cl, const std::string& name, const settings& s,
                std::ostream& out) {
  redis::connection redis(s.common.redis);
  if (name == "dlq list") {
    std::size_t limit = 100;
    if (cl.has("limit")) {
      const auto& text = cl.flags.at("limit");
      if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos ||
          text.size() > 6 || std::stoul(text) == 0) {
        throw usage_error("--limit must be a number from 1 to 999999");
      }
      limit = std::stoul(text);
    }
    for (const auto& d : queue::list_dead_letters(redis, s.common.keys, limit)) {
      json::writer w;
      w.begin_object()
          .key("id")
          .value(d.id)
          .key("error")
          .value(d.error)
          .key("entry")
          .begin_object();
      for (const auto& [field, value] : d.fields) {
        if (field != "ua") {  // user agents stay out of operator terminals and tickets
          w.key(field).value(value);
        }
      }
      w.end_object().end_object();
      out << std::move(w).str() << "\n";
    }
    return 0;
  }
  // dlq retry
  if (cl.has("all") == cl.has("id")) {
    throw usage_error("dlq retry needs either --id ID or --all");
  }
  std::vector<std::string> ids;
  if (cl.has("id")) {
    ids.push_back(cl.required("id"));
  } else {
    for (auto& d : queue::list_dead_letters(redis, s.common.keys, max_dead_letters)) {
      ids.push_back(std::move(d.id));
    }
  }
  std::size_t retried = 0;
  for (const auto& id : ids) {
    if (!queue::retry_dead_letter(redis, s.common.keys, id)) {
      throw storage::invalid_input("id", "no dead-lettered entry " + id);
    }
    ++retried;
  }
  out << "put " << retried << " entries back on the stream\n";
  return 0;
}

// One JSON object per input line, through the worker's own parser and cache.
int execute_ua(std::istream& in, std::ostream& out) {
  enrich::cached_user_agent_parser parser(enrich::user_agent_parser::builtin());
  std::string line;
  while (std::getline(in, line)) {
    const auto info = parser.parse(line);
    json::writer w;
    w.begin_object()
        .key("browser")
        .value(info.browser)
        .key("browser_version")
        .value(info.browser_version)
        .key("os")
        .value(info.os)
        .key("os_version")
        .value(info.os_version)
        .key("device")
        .value(info.device)
        .key("bot")
        .value(info.bot)
        .end_object();
    out << std::move(w).str() << "\n";
  }
  return 0;
}

// One JSON object per referrer URL, through the worker's classifier (no page or campaign).
int execute_referrer(std::istream& in, std::ostream& out) {
  const auto classifier = enrich::source_classifier::builtin();
  std::string line;
  while (std::getline(in, line)) {
    const auto source = classifier.classify(line, "", enrich::campaign{});
    json::writer w;
    w.begin_object().key("source").value(source.source).key("medium").value(source.medium);
    if (!source.term.empty()) {
      w.key("term").value(source.term);
    }
    w.end_object();
    out << std::move(w).str() << "\n";
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// gen: deterministic traffic from plumb::datagen onto the ingest stream, as the collector would
// have appended it (benchmarks, demo history).

// Entries per queue::append: one pipelined round trip each, bounded so a large run never holds
// one huge RESP buffer in memory twice.
constexpr std::size_t gen_chunk = 1'000;
// Bounds of the numeric options: an --events far beyond these is a typo, not a benchmark.
constexpr std::int64_t max_gen_events = 100'000'000;
constexpr std::int64_t max_gen_days = 3'660;
constexpr std::int64_t max_gen_tail_pages = 100'000'000;
// --bulk generates this many days at a time (memory stays that of a week's events, whatever the
// range).
constexpr std::int64_t bulk_chunk_days = 7;
constexpr std::int64_t max_gen_weight = 1'000'000;
constexpr std::int64_t max_live_rate = 10'000'000;
// --live sends a chunk about this often: fine enough that the offered rate is smooth at the
// scale of a worker batch wait, coarse enough that sleeping costs nothing.
constexpr std::chrono::milliseconds live_tick{50};
constexpr std::int64_t day_ms = 86'400'000;

struct gen_request {
  std::vector<std::string> domains;             // in command-line order, distinct
  std::map<std::string, std::int64_t> weights;  // domain as given -> weight (default 1)
  std::int64_t events = 0;
  std::int64_t days = 1;
  std::uint64_t seed = 1;
  std::optional<std::int64_t> start_ms;   // midnight UTC of --start
  std::optional<std::int64_t> live_rate;  // events per second
  bool bulk = false;                      // straight into PostgreSQL, not onto the stream
  std::int64_t tail_pages = 0;            // datagen::options::tail_pages
};

// A decimal integer in [low, high]; usage_error naming the flag otherwise.
std::int64_t integer_flag(const std::string& flag, const std::string& text, std::int64_t low,
                          std::int64_t high) {
  if (text.empty() || text.size() > 18 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    throw usage_error("--" + flag + " must be a number from " + std::to_string(low) + " to " +
                      std::to_string(high));
  }
  const std::int64_t value = std::stoll(text);
  if (value < low || value > high) {
    throw usage_error("--" + flag + " must be a number from " + std::to_string(low) + " to " +
                      std::to_string(high));
  }
  return value;
}

// "YYYY-MM-DD" as Unix ms of that day's UTC midnight; usage_error on anything else.
std::int64_t date_flag(const std::string& text) {
  const auto bad = [&] {
    return usage_error("--start must be a date YYYY-MM-DD, got '" + text + "'");
  };
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') {
    throw bad();
  }
  for (const std::size_t i : {0UL, 1UL, 2UL, 3UL, 5UL, 6UL, 8UL, 9UL}) {
    if (text[i] < '0' || text[i] > '9') {
      throw bad();
    }
  }
  const std::chrono::year_month_day date{
      std::chrono::year(std::stoi(text.substr(0, 4))),
      std::chrono::month(static_cast<unsigned>(std::stoi(text.substr(5, 2)))),
      std::chrono::day(static_cast<unsigned>(std::stoi(text.substr(8, 2))))};
  if (!date.ok() || date.year() < std::chrono::year(1970)) {
    throw bad();
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::sys_days(date).time_since_epoch())
      .count();
}

gen_request parse_gen(const command_line& cl) {
  gen_request r;
  for (const auto& domain : cl.repeated.at("site")) {
    if (domain.empty() || domain == "true") {
      throw usage_error("--site needs a domain");
    }
    if (std::find(r.domains.begin(), r.domains.end(), domain) != r.domains.end()) {
      throw usage_error("--site " + domain + " is given twice");
    }
    r.domains.push_back(domain);
  }
  if (const auto it = cl.repeated.find("weight"); it != cl.repeated.end()) {
    for (const auto& pair : it->second) {
      const auto eq = pair.rfind('=');
      if (eq == std::string::npos || eq == 0) {
        throw usage_error("--weight must be DOMAIN=N, got '" + pair + "'");
      }
      const std::string domain = pair.substr(0, eq);
      if (std::find(r.domains.begin(), r.domains.end(), domain) == r.domains.end()) {
        throw usage_error("--weight names " + domain + ", which is not one of the --site domains");
      }
      r.weights[domain] = integer_flag("weight", pair.substr(eq + 1), 1, max_gen_weight);
    }
  }
  r.events = integer_flag("events", cl.required("events"), 0, max_gen_events);
  if (cl.has("days")) {
    r.days = integer_flag("days", cl.required("days"), 1, max_gen_days);
  }
  if (cl.has("seed")) {
    r.seed = static_cast<std::uint64_t>(
        integer_flag("seed", cl.required("seed"), 0, std::numeric_limits<std::int64_t>::max()));
  }
  if (cl.has("start")) {
    r.start_ms = date_flag(cl.required("start"));
  }
  if (cl.has("live")) {
    if (cl.has("start") || cl.has("days")) {
      throw usage_error("--live re-stamps events at send time: it takes no --start or --days");
    }
    r.live_rate = integer_flag("live", cl.required("live"), 1, max_live_rate);
  }
  if (cl.has("tail-pages")) {
    r.tail_pages = integer_flag("tail-pages", cl.required("tail-pages"), 0, max_gen_tail_pages);
  }
  r.bulk = cl.has("bulk");
  if (r.bulk && r.live_rate) {
    throw usage_error("--bulk writes history into PostgreSQL: it takes no --live");
  }
  return r;
}

// --live: each event gets received_ms = now and a fresh id at the moment its chunk is sent, in
// datagen's order; chunks are paced so that event i leaves at start + i / rate (no catch-up
// bursts beyond what fell behind, no drift from per-chunk rounding).
void append_live(redis::connection& redis, const events::keys& keys,
                 std::vector<events::event>& events, std::int64_t rate) {
  const std::size_t per_tick = std::clamp<std::size_t>(
      static_cast<std::size_t>(rate * live_tick.count() / 1000), 1, gen_chunk);
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::string> records;
  records.reserve(per_tick);
  for (std::size_t first = 0; first < events.size(); first += per_tick) {
    const auto due =
        started + std::chrono::microseconds(static_cast<std::int64_t>(first) * 1'000'000 / rate);
    std::this_thread::sleep_until(due);
    const std::size_t count = std::min(per_tick, events.size() - first);
    const auto now = core::system_clock::instance().now();
    records.clear();
    for (std::size_t i = first; i < first + count; ++i) {
      auto& e = events[i];
      e.id = core::event_id::generate(now);
      e.received_ms = core::unix_ms(now);
      records.push_back(queue::serialize(e));
    }
    queue::append(redis, keys, records);
  }
}

// What a gen run produced: printed as {"events","visits","sites":[{"domain","id","events"}]}.
struct gen_totals {
  std::int64_t events = 0;
  std::int64_t visits = 0;
  std::map<std::int64_t, std::int64_t> per_site;

  void add(const datagen::generated& data) {
    events += static_cast<std::int64_t>(data.events.size());
    visits += static_cast<std::int64_t>(data.visits.size());
    for (const auto& e : data.events) {
      ++per_site[e.site_id];
    }
  }
};

// --bulk: history straight into PostgreSQL through the worker's own steps
// (ingest::history_loader), so the rows are those the stream would have produced. bulk_chunk_days
// of events are generated at a time (chunk k uses seed + k: one chunk is exactly the events `gen`
// would put on the stream); a visit never spans two chunks.
void write_bulk(const datagen::options& opts, pqxx::connection& conn, gen_totals& totals) {
  ingest::history_loader loader(conn);
  const std::int64_t chunks = (opts.days + bulk_chunk_days - 1) / bulk_chunk_days;
  std::int64_t events_before = 0;
  for (std::int64_t k = 0; k < chunks; ++k) {
    auto chunk = opts;
    chunk.seed = opts.seed + static_cast<std::uint64_t>(k);
    chunk.start_ms = opts.start_ms + k * bulk_chunk_days * day_ms;
    chunk.days = std::min(bulk_chunk_days, opts.days - k * bulk_chunk_days);
    // The target spread in proportion to days; the last chunk takes what rounding left.
    const std::int64_t events_through =
        opts.target_events * std::min(opts.days, (k + 1) * bulk_chunk_days) / opts.days;
    chunk.target_events = events_through - events_before;
    events_before = events_through;
    auto data = datagen::generate(chunk);
    totals.add(data);
    loader.store(std::move(data.events));
  }
  // Past days' rows where workers' maintenance would move them: reports read history as they
  // would in production.
  storage::settle_rollups(conn, core::system_clock::instance().now());
}

int execute_gen(const gen_request& request, pqxx::connection& conn, pqxx::transaction_base& tx,
                const settings& s, std::ostream& out) {
  datagen::options opts;
  opts.seed = request.seed;
  opts.days = request.days;
  opts.target_events = request.events;
  opts.tail_pages = request.tail_pages;
  std::vector<std::pair<std::string, std::int64_t>> resolved;  // normalized domain, site id
  for (const auto& domain : request.domains) {
    const auto site = storage::find_site(tx, domain);
    if (!site) {
      throw storage::invalid_input("site", "no site with domain " + domain);
    }
    for (const auto& [known, id] : resolved) {
      if (id == site->id) {
        throw usage_error("--site " + domain + " is the same site as " + known);
      }
    }
    resolved.emplace_back(site->domain, site->id);
    const auto weight = request.weights.find(domain);
    opts.sites.push_back(
        {site->id, site->domain,
         static_cast<std::uint32_t>(weight == request.weights.end() ? 1 : weight->second)});
  }
  tx.commit();  // read only; a --live run must not hold a transaction open for its duration
  const auto now_ms = core::unix_ms(core::system_clock::instance().now());
  opts.start_ms = request.start_ms.value_or(now_ms - request.days * day_ms);

  gen_totals totals;
  if (request.bulk) {
    write_bulk(opts, conn, totals);
  } else {
    auto data = datagen::generate(opts);
    totals.add(data);
    redis::connection redis(s.common.redis);
    if (request.live_rate) {
      append_live(redis, s.common.keys, data.events, *request.live_rate);
    } else {  // historical: as fast as Redis accepts, gen_chunk entries per round trip
      std::vector<std::string> records;
      records.reserve(std::min(data.events.size(), gen_chunk));
      for (std::size_t first = 0; first < data.events.size(); first += gen_chunk) {
        records.clear();
        const std::size_t end = std::min(first + gen_chunk, data.events.size());
        for (std::size_t i = first; i < end; ++i) {
          records.push_back(queue::serialize(data.events[i]));
        }
        queue::append(redis, s.common.keys, records);
      }
    }
  }

  json::writer w;
  w.begin_object()
      .key("events")
      .value(totals.events)
      .key("visits")
      .value(totals.visits)
      .key("sites")
      .begin_array();
  for (const auto& [domain, id] : resolved) {
    w.begin_object()
        .key("domain")
        .value(domain)
        .key("id")
        .value(id)
        .key("events")
        .value(totals.per_site[id])
        .end_object();
  }
  w.end_array().end_object();
  out << std::move(w).str() << "\n";
  return 0;
}

int execute(const command_line& cl, const std::string& name, const settings& s, std::ostream& out) {
  if (name.rfind("dlq ", 0) == 0) {
    return execute_dlq(cl, name, s, out);
  }
  // gen's options are checked before anything is connected to.
  std::optional<gen_request> gen;
  if (name == "gen") {
    gen = parse_gen(cl);
  }
  auto conn = pg::connect({s.pg_dsn, std::chrono::minutes(10), "plumbctl"});
  if (name == "migrate") {
    const auto result = storage::migrate(*conn);
    for (const auto& file : result.applied) {
      out << "applied " << file << "\n";
    }
    out << "schema version " << result.current_version << "\n";
    return 0;
  }
  pqxx::work tx(*conn);
  if (gen) {
    return execute_gen(*gen, *conn, tx, s, out);
  }
  if (name == "account create") {
    const std::string email = cl.required("email");
    if (cl.has("exists-ok") && storage::find_account(tx, email)) {
      out << "account " << email << " already exists\n";
      return 0;
    }
    const auto account = storage::create_account(tx, email, cl.required("password"));
    tx.commit();
    out << "created account " << account.id << " " << account.email << "\n";
    return 0;
  }
  if (name == "site create") {
    const auto account = require_account(tx, cl.required("account"));
    auto site = storage::find_site(tx, cl.words[2]);
    if (site && !cl.has("exists-ok")) {
      throw storage::already_exists("domain", "a site with this domain already exists");
    }
    if (site && site->account_id != account.id) {
      throw storage::already_exists("domain", "the domain is registered to another account");
    }
    if (!site) {
      site = storage::create_site(tx, account.id, cl.words[2], cl.required("tz"),
                                  cl.has("ignore-dnt"));
    }
    // Publish before committing: when Redis is unreachable the command fails as a whole and can
    // simply be run again, instead of leaving a site collectors never hear of.
    publish_sites(tx, s);
    tx.commit();
    out << "site " << site->id << " " << site->domain << " (" << site->timezone << ")\n";
    return 0;
  }
  if (name == "site publish") {
    publish_sites(tx, s);
    out << "published the site map\n";
    return 0;
  }
  if (name == "api-key create") {
    const auto account = require_account(tx, cl.required("account"));
    const std::string scope_text = cl.flags.contains("scope") ? cl.flags.at("scope") : "stats:read";
    if (scope_text != "stats:read" && scope_text != "sites:admin") {
      throw usage_error("--scope must be stats:read or sites:admin");
    }
    const auto key =
        storage::create_api_key(tx, account.id,
                                scope_text == "sites:admin" ? storage::api_scope::sites_admin
                                                            : storage::api_scope::stats_read);
    tx.commit();
    out << key << "\n";
    return 0;
  }
  throw usage_error("unknown command '" + name + "'");
}

}  // namespace

std::string usage() {
  return "plumbctl: administer a Plumb installation.\n"
         "\n"
         "Usage:\n"
         "  plumbctl migrate                                          apply database migrations\n"
         "  plumbctl account create --email E --password P [--exists-ok]\n"
         "  plumbctl site create DOMAIN --tz ZONE --account E [--ignore-dnt] [--exists-ok]\n"
         "                                                            --ignore-dnt: drop hits sent "
         "with DNT/GPC\n"
         "  plumbctl site publish                                     republish the site map to "
         "Redis\n"
         "  plumbctl api-key create --account E [--scope stats:read|sites:admin]\n"
         "                                                            prints the new key once\n"
         "  plumbctl ua                                                user agents on stdin -> "
         "JSON lines\n"
         "  plumbctl referrer                                          referrer URLs on stdin -> "
         "JSON lines\n"
         "  plumbctl dlq list [--limit N]                             dead-lettered stream "
         "entries, as JSON lines\n"
         "  plumbctl dlq retry --id ID | --all                        put them back on the stream\n"
         "  plumbctl gen --site DOMAIN [--site DOMAIN...] [--weight DOMAIN=N...] --events N\n"
         "               [--days D] [--seed S] [--start YYYY-MM-DD] [--tail-pages N]\n"
         "               [--live RATE | --bulk]\n"
         "                                                            deterministic test traffic "
         "onto the\n"
         "                                                            ingest stream (default: D=1 "
         "days\n"
         "                                                            ending now, seed 1); --live "
         "RATE:\n"
         "                                                            stamped at send time, RATE "
         "events/s;\n"
         "                                                            --bulk: stored straight "
         "into\n"
         "                                                            PostgreSQL as workers would "
         "store it;\n"
         "                                                            --tail-pages N: N long-tail "
         "pages\n"
         "                                                            (heaviest site; others by "
         "weight);\n"
         "                                                            prints "
         "{\"events\",\"visits\",\"sites\"}\n"
         "\n"
         "Configuration (environment):\n"
         "  PLUMB_PG_DSN         postgresql:// URI of the database\n" +
         runtime::common_help();
}

int run(const std::vector<std::string>& args, const config::lookup_fn& env, std::istream& in,
        std::ostream& out, std::ostream& err) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h" || args[0] == "help")) {
    out << usage();
    return 0;
  }
  try {
    const auto cl = parse(args);
    if (cl.has("help")) {
      out << usage();
      return 0;
    }
    const auto name = command_name(cl);
    if (name == "ua") {
      return execute_ua(in, out);  // needs no configuration
    }
    if (name == "referrer") {
      return execute_referrer(in, out);
    }
    return execute(cl, name, read_settings(env), out);
  } catch (const usage_error& e) {
    err << "plumbctl: " << e.what() << " (see plumbctl --help)\n";
    return 2;
  } catch (const config::invalid_config& e) {
    err << "plumbctl: " << e.what() << "\n";
    return 2;
  } catch (const storage::invalid_input& e) {
    err << "plumbctl: " << e.field() << ": " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    err << "plumbctl: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace plumb::plumbctl
