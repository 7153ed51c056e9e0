#include "plumb/storage/tenants.hpp"

#include "plumb/core/ip_address.hpp"
#include "plumb/core/text.hpp"
#include "plumb/crypto/crypto.hpp"
#include "plumb/events/site_map.hpp"
#include "plumb/json/value.hpp"
#include "plumb/json/writer.hpp"
#include "secret_tokens.hpp"
#include "select_lists.hpp"

namespace plumb::storage {
namespace {

// API key text: a recognisable prefix, so leaked keys are easy to grep for.
constexpr std::string_view api_key_prefix = "plumb_";
// Passwords beyond this are refused rather than silently truncated or used for hashing DoS.
constexpr std::size_t max_password_length = 1024;
constexpr std::size_t max_key_name_length = 100;
// Bounds on per-site lists, so the site map entry every collector holds stays small.
constexpr std::size_t max_excluded_ranges = 100;
constexpr std::size_t max_allowed_hostnames = 100;

std::vector<std::string> strings_from_json(const std::string& text) {
  std::vector<std::string> out;
  const auto doc = json::parse(text);
  if (doc && doc->as_array() != nullptr) {
    for (const auto& item : *doc->as_array()) {
      if (item.as_string() != nullptr) {
        out.push_back(*item.as_string());
      }
    }
  }
  return out;
}

std::string strings_to_json(const std::vector<std::string>& values) {
  json::writer w;
  w.begin_array();
  for (const auto& v : values) {
    w.value(v);
  }
  w.end_array();
  return std::move(w).str();
}

std::string normalized_domain(std::string_view input) {
  auto domain = events::normalize_domain(input);
  if (!domain) {
    throw invalid_input("domain", domain.error());
  }
  return *domain;
}

void validate_timezone(pqxx::transaction_base& tx, const std::string& timezone) {
  if (tx.exec_params("SELECT 1 FROM pg_timezone_names WHERE name = $1", timezone).empty()) {
    throw invalid_input("timezone", "timezone must be an IANA zone such as Europe/Berlin");
  }
}

std::vector<std::string> canonical_ranges(const std::vector<std::string>& ranges) {
  if (ranges.size() > max_excluded_ranges) {
    throw invalid_input("excluded_ip_ranges", "at most 100 ranges");
  }
  std::vector<std::string> out;
  for (const auto& text : ranges) {
    const auto range = core::cidr::parse(text);
    if (!range) {
      throw invalid_input("excluded_ip_ranges", range.error());
    }
    out.push_back(range->to_string());
  }
  return out;
}

std::vector<std::string> canonical_hostnames(const std::vector<std::string>& hostnames) {
  if (hostnames.size() > max_allowed_hostnames) {
    throw invalid_input("allowed_hostnames", "at most 100 hostnames");
  }
  std::vector<std::string> out;
  for (const auto& text : hostnames) {
    const auto host = events::normalize_hostname_pattern(text);
    if (!host) {
      throw invalid_input("allowed_hostnames", host.error());
    }
    out.push_back(*host);
  }
  return out;
}

}  // namespace

std::string normalize_email(std::string_view input) {
  std::string email = core::ascii_lower(core::trim(input));
  const auto at = email.find('@');
  if (email.size() < 3 || email.size() > 254 || at == std::string::npos || at == 0 ||
      at == email.size() - 1 || email.find('@', at + 1) != std::string::npos ||
      email.find_first_of(" \t\r\n") != std::string::npos) {
    throw invalid_input("email", "email must look like name@example.com");
  }
  return email;
}

std::string site_columns(const std::string& alias) {
  const std::string p = alias.empty() ? "" : alias + ".";
  // Text arrays travel as JSON: libpqxx 6.4 has no array conversion.
  return p + "id, " + p + "account_id, " + p + "domain, " + p + "timezone, " + p +
         "ignore_do_not_track, array_to_json(" + p + "excluded_ip_ranges)::text, array_to_json(" +
         p + "allowed_hostnames)::text, " + p + "retention_days";
}

site site_from_row(const pqxx::row& row) {
  site s{row[0].as<std::int64_t>(),
         row[1].as<std::int64_t>(),
         row[2].as<std::string>(),
         row[3].as<std::string>(),
         row[4].as<bool>(),
         strings_from_json(row[5].as<std::string>()),
         strings_from_json(row[6].as<std::string>()),
         std::nullopt};
  if (!row[7].is_null()) {
    s.retention_days = row[7].as<int>();
  }
  return s;
}

std::string iso_utc(const std::string& column) {
  return "to_char(" + column + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";
}

std::string_view scope_name(api_scope scope) {
  return scope == api_scope::sites_admin ? "sites:admin" : "stats:read";
}

std::optional<api_scope> parse_scope(std::string_view name) {
  if (name == "stats:read") {
    return api_scope::stats_read;
  }
  if (name == "sites:admin") {
    return api_scope::sites_admin;
  }
  return std::nullopt;
}

void validate_password(std::string_view password) {
  if (password.size() < min_password_length || password.size() > max_password_length) {
    throw invalid_input("password", "password must be 8 to 1024 characters long");
  }
}

account create_account(pqxx::transaction_base& tx, std::string_view email_input,
                       std::string_view password) {
  const std::string email = normalize_email(email_input);
  validate_password(password);
  try {
    const auto row = tx.exec_params1("SELECT plumb_create_account($1, $2)", email,
                                     crypto::hash_password(password));
    return account{row[0].as<std::int64_t>(), email};
  } catch (const pqxx::unique_violation&) {
    throw already_exists("email", "an account with this email already exists");
  }
}

std::optional<account> find_account(pqxx::transaction_base& tx, std::string_view email) {
  const auto result =
      tx.exec_params("SELECT id, email FROM accounts WHERE email = $1", core::ascii_lower(email));
  if (result.empty()) {
    return std::nullopt;
  }
  return account{result[0][0].as<std::int64_t>(), result[0][1].as<std::string>()};
}

std::optional<account> find_account(pqxx::transaction_base& tx, std::int64_t id) {
  const auto result = tx.exec_params("SELECT id, email FROM accounts WHERE id = $1", id);
  if (result.empty()) {
    return std::nullopt;
  }
  return account{result[0][0].as<std::int64_t>(), result[0][1].as<std::string>()};
}

std::optional<account_credentials> find_credentials(pqxx::transaction_base& tx,
                                                    std::string_view email) {
  const auto result = tx.exec_params(
      "SELECT id, password_hash FROM plumb_account_credentials($1) WHERE id IS NOT NULL",
      core::ascii_lower(email));
  if (result.empty()) {
    return std::nullopt;
  }
  return account_credentials{result[0][0].as<std::int64_t>(), result[0][1].as<std::string>()};
}

std::string password_hash(pqxx::transaction_base& tx, std::int64_t account_id) {
  const auto result =
      tx.exec_params("SELECT password_hash FROM accounts WHERE id = $1", account_id);
  return result.empty() ? std::string() : result[0][0].as<std::string>();
}

void set_password(pqxx::transaction_base& tx, std::int64_t account_id, std::string_view password) {
  validate_password(password);
  tx.exec_params("UPDATE accounts SET password_hash = $2 WHERE id = $1", account_id,
                 crypto::hash_password(password));
}

site create_site(pqxx::transaction_base& tx, std::int64_t account_id, std::string_view domain_input,
                 std::string_view timezone, bool ignore_do_not_track) {
  const auto domain = normalized_domain(domain_input);
  validate_timezone(tx, std::string(timezone));
  try {
    auto created = site_from_row(
        tx.exec_params1("INSERT INTO sites (account_id, domain, timezone, ignore_do_not_track) "
                        "VALUES ($1, $2, $3, $4) RETURNING " +
                            site_columns(),
                        account_id, domain, std::string(timezone), ignore_do_not_track));
    tx.exec_params(
        "INSERT INTO site_memberships (site_id, account_id, role) VALUES ($1, $2, 'owner')",
        created.id, account_id);
    return created;
  } catch (const pqxx::unique_violation&) {
    throw already_exists("domain", "a site with this domain already exists");
  }
}

std::optional<site> find_site(pqxx::transaction_base& tx, std::string_view domain) {
  const auto normalized = events::normalize_domain(domain);
  if (!normalized) {
    return std::nullopt;
  }
  const auto result =
      tx.exec_params("SELECT " + site_columns() + " FROM sites WHERE domain = $1", *normalized);
  if (result.empty()) {
    return std::nullopt;
  }
  return site_from_row(result[0]);
}

std::optional<site> find_site_by_id(pqxx::transaction_base& tx, std::int64_t id) {
  const auto result = tx.exec_params("SELECT " + site_columns() + " FROM sites WHERE id = $1", id);
  if (result.empty()) {
    return std::nullopt;
  }
  return site_from_row(result[0]);
}

std::vector<site> all_sites(pqxx::transaction_base& tx) {
  std::vector<site> sites;
  for (const auto& row :
       tx.exec("SELECT " + site_columns() + " FROM plumb_all_sites() ORDER BY id")) {
    sites.push_back(site_from_row(row));
  }
  return sites;
}

site update_site(pqxx::transaction_base& tx, std::int64_t site_id, const site_changes& changes) {
  std::optional<std::string> domain;
  if (changes.domain) {
    domain = normalized_domain(*changes.domain);
  }
  if (changes.timezone) {
    validate_timezone(tx, *changes.timezone);
  }
  std::optional<std::string> ranges;
  if (changes.excluded_ip_ranges) {
    ranges = strings_to_json(canonical_ranges(*changes.excluded_ip_ranges));
  }
  std::optional<std::string> hostnames;
  if (changes.allowed_hostnames) {
    hostnames = strings_to_json(canonical_hostnames(*changes.allowed_hostnames));
  }
  if (changes.change_retention && changes.retention_days &&
      (*changes.retention_days < 30 || *changes.retention_days > 36'500)) {
    throw invalid_input("retention_days",
                        "retention_days must be 30 to 36500 days, or null to keep data forever");
  }
  // libpqxx 6.4 binds NULL from a null const char*: absent changes are NULL and keep the column
  // (retention_days needs its own flag, as NULL is one of its values).
  const auto text_or_null = [](const std::optional<std::string>& v) {
    return v ? v->c_str() : nullptr;
  };
  const std::optional<std::string> dnt =
      changes.ignore_do_not_track
          ? std::optional<std::string>(*changes.ignore_do_not_track ? "true" : "false")
          : std::nullopt;
  const std::optional<std::string> retention =
      changes.retention_days ? std::optional(std::to_string(*changes.retention_days))
                             : std::nullopt;
  try {
    const auto result = tx.exec_params(
        "UPDATE sites SET domain = COALESCE($2, domain), timezone = COALESCE($3, timezone), "
        "ignore_do_not_track = COALESCE($4::boolean, ignore_do_not_track), "
        "excluded_ip_ranges = CASE WHEN $5::jsonb IS NULL THEN excluded_ip_ranges "
        "  ELSE ARRAY(SELECT jsonb_array_elements_text($5::jsonb)) END, "
        "allowed_hostnames = CASE WHEN $6::jsonb IS NULL THEN allowed_hostnames "
        "  ELSE ARRAY(SELECT jsonb_array_elements_text($6::jsonb)) END, "
        "retention_days = CASE WHEN $7 THEN $8::integer ELSE retention_days END "
        "WHERE id = $1 RETURNING " +
            site_columns(),
        site_id, text_or_null(domain), text_or_null(changes.timezone), text_or_null(dnt),
        text_or_null(ranges), text_or_null(hostnames), changes.change_retention,
        text_or_null(retention));
    if (result.empty()) {
      throw invalid_input("site", "no such site");
    }
    return site_from_row(result[0]);
  } catch (const pqxx::unique_violation&) {
    throw already_exists("domain", "a site with this domain already exists");
  }
}

void delete_site(pqxx::transaction_base& tx, std::int64_t site_id) {
  // Tables without a foreign key to sites (partitioned) first; the rest cascade from sites.
  for (const char* table :
       {"events", "dropped_events", "rollups", "rollups_settled", "rollup_value_totals",
        "rollup_value_totals_since", "visits", "visit_days"}) {
    tx.exec_params(std::string("DELETE FROM ") + table + " WHERE site_id = $1", site_id);
  }
  tx.exec_params("DELETE FROM sites WHERE id = $1", site_id);
}

std::string create_api_key(pqxx::transaction_base& tx, std::int64_t account_id, api_scope scope,
                           std::string_view name) {
  if (name.size() > max_key_name_length) {
    throw invalid_input("name", "name must be at most 100 characters");
  }
  const std::string key = new_token(api_key_prefix);
  tx.exec_params(
      "INSERT INTO api_keys (account_id, prefix, key_hash, scope, name) VALUES ($1, $2, $3, $4, "
      "$5)",
      account_id, key.substr(0, api_key_prefix.size() + 6), token_hash(key),
      std::string(scope_name(scope)), std::string(name));
  return key;
}

std::optional<api_key> find_api_key(pqxx::transaction_base& tx, std::string_view key_text) {
  const auto result = tx.exec_params(
      "SELECT id, account_id, scope FROM plumb_find_api_key($1) WHERE id IS NOT NULL",
      token_hash(key_text));
  if (result.empty()) {
    return std::nullopt;
  }
  const auto scope = parse_scope(result[0][2].as<std::string>()).value_or(api_scope::stats_read);
  return api_key{result[0][0].as<std::int64_t>(), result[0][1].as<std::int64_t>(), scope};
}

std::vector<api_key_summary> api_keys_of(pqxx::transaction_base& tx, std::int64_t account_id) {
  std::vector<api_key_summary> keys;
  for (const auto& row :
       tx.exec_params("SELECT id, name, prefix, scope, " + iso_utc("created_at") +
                          " FROM api_keys WHERE account_id = $1 AND revoked_at IS NULL ORDER BY id",
                      account_id)) {
    keys.push_back({row[0].as<std::int64_t>(), row[1].as<std::string>(), row[2].as<std::string>(),
                    parse_scope(row[3].as<std::string>()).value_or(api_scope::stats_read),
                    row[4].as<std::string>()});
  }
  return keys;
}

bool revoke_api_key(pqxx::transaction_base& tx, std::int64_t account_id, std::int64_t key_id) {
  return tx.exec_params(
               "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND account_id = $2 AND "
               "revoked_at IS NULL",
               key_id, account_id)
             .affected_rows() == 1;
}

}  // namespace plumb::storage
