#include "plumb/storage/tenants.hpp"

#include "plumb/core/text.hpp"
#include "plumb/crypto/crypto.hpp"
#include "plumb/events/site_map.hpp"

namespace plumb::storage {
namespace {

// API key text: a recognisable prefix (so leaked keys are easy to grep for) and 32 random bytes.
constexpr std::string_view api_key_prefix = "plumb_";
constexpr std::size_t api_key_random_bytes = 32;
// Passwords beyond this are refused rather than silently truncated or used for hashing DoS.
constexpr std::size_t max_password_length = 1024;

void validate_email(const std::string& email) {
  const auto at = email.find('@');
  if (email.size() < 3 || email.size() > 254 || at == std::string::npos || at == 0 ||
      at == email.size() - 1 || email.find('@', at + 1) != std::string::npos ||
      email.find_first_of(" \t\r\n") != std::string::npos) {
    throw invalid_input("email", "email must look like name@example.com");
  }
}

std::string_view scope_name(api_scope scope) {
  return scope == api_scope::sites_admin ? "sites:admin" : "stats:read";
}

pqxx::binarystring key_hash(std::string_view key_text) {
  const auto digest = crypto::sha256({key_text});
  return pqxx::binarystring(digest.data(), digest.size());
}

// Columns of every site query, in site_from_row's order.
constexpr const char* site_columns = "id, account_id, domain, timezone, ignore_do_not_track";

site site_from_row(const pqxx::row& row) {
  return site{row[0].as<std::int64_t>(), row[1].as<std::int64_t>(), row[2].as<std::string>(),
              row[3].as<std::string>(), row[4].as<bool>()};
}

}  // namespace

account create_account(pqxx::transaction_base& tx, std::string_view email_input,
                       std::string_view password) {
  const std::string email = core::ascii_lower(email_input);
  validate_email(email);
  if (password.size() < min_password_length || password.size() > max_password_length) {
    throw invalid_input("password", "password must be 8 to 1024 characters long");
  }
  try {
    const auto row = tx.exec_params1(
        "INSERT INTO accounts (email, password_hash) VALUES ($1, $2) RETURNING id", email,
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

site create_site(pqxx::transaction_base& tx, std::int64_t account_id, std::string_view domain_input,
                 std::string_view timezone, bool ignore_do_not_track) {
  const auto domain = events::normalize_domain(domain_input);
  if (!domain) {
    throw invalid_input("domain", domain.error());
  }
  if (tx.exec_params("SELECT 1 FROM pg_timezone_names WHERE name = $1", std::string(timezone))
          .empty()) {
    throw invalid_input("timezone", "timezone must be an IANA zone such as Europe/Berlin");
  }
  try {
    return site_from_row(tx.exec_params1(
        "INSERT INTO sites (account_id, domain, timezone, ignore_do_not_track) "
        "VALUES ($1, $2, $3, $4) RETURNING " + std::string(site_columns),
        account_id, *domain, std::string(timezone), ignore_do_not_track));
  } catch (const pqxx::unique_violation&) {
    throw already_exists("domain", "a site with this domain already exists");
  }
}

std::optional<site> find_site(pqxx::transaction_base& tx, std::string_view domain) {
  const auto normalized = events::normalize_domain(domain);
  if (!normalized) {
    return std::nullopt;
  }
  const auto result = tx.exec_params(
      "SELECT " + std::string(site_columns) + " FROM sites WHERE domain = $1", *normalized);
  if (result.empty()) {
    return std::nullopt;
  }
  return site_from_row(result[0]);
}

std::vector<site> all_sites(pqxx::transaction_base& tx) {
  std::vector<site> sites;
  for (const auto& row : tx.exec("SELECT " + std::string(site_columns) + " FROM sites ORDER BY id")) {
    sites.push_back(site_from_row(row));
  }
  return sites;
}

std::string create_api_key(pqxx::transaction_base& tx, std::int64_t account_id, api_scope scope) {
  const std::string key =
      std::string(api_key_prefix) + crypto::to_hex(crypto::random_bytes(api_key_random_bytes));
  tx.exec_params(
      "INSERT INTO api_keys (account_id, prefix, key_hash, scope) VALUES ($1, $2, $3, $4)",
      account_id, key.substr(0, api_key_prefix.size() + 6), key_hash(key),
      std::string(scope_name(scope)));
  return key;
}

std::optional<api_key> find_api_key(pqxx::transaction_base& tx, std::string_view key_text) {
  const auto result = tx.exec_params(
      "SELECT id, account_id, scope FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
      key_hash(key_text));
  if (result.empty()) {
    return std::nullopt;
  }
  const auto scope = result[0][2].as<std::string>() == "sites:admin" ? api_scope::sites_admin
                                                                      : api_scope::stats_read;
  return api_key{result[0][0].as<std::int64_t>(), result[0][1].as<std::int64_t>(), scope};
}

}  // namespace plumb::storage
