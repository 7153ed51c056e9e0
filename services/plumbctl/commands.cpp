#include "commands.hpp"

#include <algorithm>
#include <map>
#include <optional>

#include "plumb/enrich/referrer.hpp"
#include "plumb/enrich/user_agent.hpp"
#include "plumb/json/writer.hpp"
#include "plumb/pg/connection.hpp"
#include "plumb/queue/stream.hpp"
#include "plumb/redis/connection.hpp"
#include "plumb/runtime/service.hpp"
#include "plumb/storage/migrations.hpp"
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

// Parsed command line: positional words and --flag value pairs (--flag alone = "true").
struct command_line {
  std::vector<std::string> words;
  std::map<std::string, std::string> flags;

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
  };
  return specs;
}

bool is_boolean_flag(const std::string& name) {
  return name == "exists-ok" || name == "help" || name == "all" || name == "ignore-dnt";
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
  }
  return cl;
}

// The command's name, after checking its words and flags against its spec (no I/O yet, so a
// usage mistake is reported as one before anything is touched).
std::string command_name(const command_line& cl) {
  if (cl.words.empty()) {
    throw usage_error("no command given");
  }
  const bool one_word = cl.words[0] == "migrate" || cl.words[0] == "ua" ||
                        cl.words[0] == "referrer" || cl.words.size() < 2;
  const std::string name = one_word ? cl.words[0] : cl.words[0] + " " + cl.words[1];
  const auto spec = commands().find(name);
  if (spec == commands().end()) {
    throw usage_error("unknown command '" + name + "'");
  }
  const std::size_t command_words = one_word ? 1 : 2;
  const auto& argument = spec->second.argument;
  if (cl.words.size() != command_words + (argument.empty() ? 0 : 1)) {
    throw usage_error("'" + name + "' takes " + (argument.empty() ? "no arguments" : "one " + argument));
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
int execute_dlq(const command_line& cl, const std::string& name, const settings& s, std::ostream& out) {
  redis::connection redis(s.common.redis);
  if (name == "dlq list") {
    std::size_t limit = 100;
    if (cl.has("limit")) {
      const auto& text = cl.flags.at("limit");
      if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 6 ||
          std::stoul(text) == 0) {
        throw usage_error("--limit must be a number from 1 to 999999");
      }
      limit = std::stoul(text);
    }
    for (const auto& d : queue::list_dead_letters(redis, s.common.keys, limit)) {
      json::writer w;
      w.begin_object().key("id").value(d.id).key("error").value(d.error).key("entry").begin_object();
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
        .key("browser").value(info.browser)
        .key("browser_version").value(info.browser_version)
        .key("os").value(info.os)
        .key("os_version").value(info.os_version)
        .key("device").value(info.device)
        .key("bot").value(info.bot)
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

int execute(const command_line& cl, const std::string& name, const settings& s, std::ostream& out) {
  if (name.rfind("dlq ", 0) == 0) {
    return execute_dlq(cl, name, s, out);
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
      site = storage::create_site(tx, account.id, cl.words[2], cl.required("tz"), cl.has("ignore-dnt"));
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
    const auto key = storage::create_api_key(
        tx, account.id, scope_text == "sites:admin" ? storage::api_scope::sites_admin
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
         "                                                            --ignore-dnt: drop hits sent with DNT/GPC\n"
         "  plumbctl site publish                                     republish the site map to Redis\n"
         "  plumbctl api-key create --account E [--scope stats:read|sites:admin]\n"
         "                                                            prints the new key once\n"
         "  plumbctl ua                                                user agents on stdin -> JSON lines\n"
         "  plumbctl referrer                                          referrer URLs on stdin -> JSON lines\n"
         "  plumbctl dlq list [--limit N]                             dead-lettered stream entries, as JSON lines\n"
         "  plumbctl dlq retry --id ID | --all                        put them back on the stream\n"
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
