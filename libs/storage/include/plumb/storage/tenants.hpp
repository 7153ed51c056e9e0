#pragma once
// Accounts, sites and API keys. Inputs are validated here, so every caller (plumbctl, dashboard)
// gets the same rules and the same messages. The dashboard runs these under row-level security
// (tenancy.hpp): a function given an id the principal may not see finds nothing / changes nothing.

#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace plumb::storage {

// A request the caller can fix: bad input, or a name already taken. what() is user-facing.
class invalid_input : public std::runtime_error {
 public:
  invalid_input(std::string field, const std::string& message)
      : std::runtime_error(message), field_(std::move(field)) {}
  const std::string& field() const { return field_; }

 private:
  std::string field_;
};

class already_exists : public invalid_input {
 public:
  using invalid_input::invalid_input;
};

struct account {
  std::int64_t id = 0;
  std::string email;
};

struct site {
  std::int64_t id = 0;
  std::int64_t account_id = 0;
  std::string domain;
  std::string timezone;
  bool ignore_do_not_track = false;  // drop hits sent with DNT: 1 or Sec-GPC: 1
  std::vector<std::string> excluded_ip_ranges;  // canonical CIDR text (core::cidr::to_string)
  std::vector<std::string> allowed_hostnames;   // events::normalize_hostname_pattern form
  std::optional<int> retention_days;            // nullopt: keep data forever
};

// A partial update of a site's settings; unset members stay as they are. Validated like
// create_site (domain, timezone, CIDR ranges, hostname patterns, retention 30..36500 days).
struct site_changes {
  std::optional<std::string> domain;
  std::optional<std::string> timezone;
  std::optional<bool> ignore_do_not_track;
  std::optional<std::vector<std::string>> excluded_ip_ranges;
  std::optional<std::vector<std::string>> allowed_hostnames;
  bool change_retention = false;       // retention_days is set only when this is true:
  std::optional<int> retention_days;   // nullopt then means "keep forever"
};

enum class api_scope { stats_read, sites_admin };

std::string_view scope_name(api_scope scope);  // "stats:read", "sites:admin"
std::optional<api_scope> parse_scope(std::string_view name);

struct api_key {
  std::int64_t id = 0;
  std::int64_t account_id = 0;
  api_scope scope = api_scope::stats_read;
};

// What an account sees of its keys: never the key text, only its first characters.
struct api_key_summary {
  std::int64_t id = 0;
  std::string name;
  std::string prefix;
  api_scope scope = api_scope::stats_read;
  std::string created_at;  // ISO 8601, UTC
};

struct account_credentials {
  std::int64_t id = 0;
  std::string password_hash;  // argon2id, encoded
};

// Minimum password length for accounts (NIST SP 800-63B: at least 8).
inline constexpr std::size_t min_password_length = 8;

// Lower case, surrounding blanks dropped; throws invalid_input("email") when malformed.
std::string normalize_email(std::string_view input);

// Creates an account; the password is hashed with argon2id. Throws invalid_input (email format,
// password length) or already_exists.
account create_account(pqxx::transaction_base& tx, std::string_view email, std::string_view password);
std::optional<account> find_account(pqxx::transaction_base& tx, std::string_view email);
std::optional<account> find_account(pqxx::transaction_base& tx, std::int64_t id);
// Login: the account with this email and its password hash, whatever the principal (the one
// pre-authentication lookup row-level security allows).
std::optional<account_credentials> find_credentials(pqxx::transaction_base& tx, std::string_view email);
// The account's current password hash (changes whenever the password does).
std::string password_hash(pqxx::transaction_base& tx, std::int64_t account_id);
// Validates (length) and stores a new argon2id hash. Throws invalid_input.
void set_password(pqxx::transaction_base& tx, std::int64_t account_id, std::string_view password);
// Throws invalid_input("password") when the password is too short or too long.
void validate_password(std::string_view password);

// Creates a site owned by `account_id` (its first owner membership); `domain` is normalised
// (events::normalize_domain) and `timezone` must be an IANA zone PostgreSQL knows. Throws
// invalid_input or already_exists.
site create_site(pqxx::transaction_base& tx, std::int64_t account_id, std::string_view domain,
                 std::string_view timezone, bool ignore_do_not_track = false);
std::optional<site> find_site(pqxx::transaction_base& tx, std::string_view domain);
std::optional<site> find_site_by_id(pqxx::transaction_base& tx, std::int64_t id);
// Every site, whatever the principal: the site map is global.
std::vector<site> all_sites(pqxx::transaction_base& tx);
// Applies `changes` and returns the updated site. Throws invalid_input or already_exists.
site update_site(pqxx::transaction_base& tx, std::int64_t site_id, const site_changes& changes);
// Deletes the site with all of its data: raw and dropped events, rollups, dimension values,
// memberships, invitations, goals and shared links.
void delete_site(pqxx::transaction_base& tx, std::int64_t site_id);

// Creates a key and returns its text, which is shown once and never stored (only its SHA-256).
// Throws invalid_input("name") for names over 100 characters.
std::string create_api_key(pqxx::transaction_base& tx, std::int64_t account_id, api_scope scope,
                           std::string_view name = {});
// The unrevoked key with this text, if any, whatever the principal (pre-authentication lookup).
std::optional<api_key> find_api_key(pqxx::transaction_base& tx, std::string_view key_text);
std::vector<api_key_summary> api_keys_of(pqxx::transaction_base& tx, std::int64_t account_id);
// False when the account has no such unrevoked key.
bool revoke_api_key(pqxx::transaction_base& tx, std::int64_t account_id, std::int64_t key_id);

}  // namespace plumb::storage
