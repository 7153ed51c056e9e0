#pragma once
// Accounts, sites and API keys. Inputs are validated here, so every caller (plumbctl, dashboard)
// gets the same rules and the same messages.

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
};

enum class api_scope { stats_read, sites_admin };

struct api_key {
  std::int64_t id = 0;
  std::int64_t account_id = 0;
  api_scope scope = api_scope::stats_read;
};

// Minimum password length for accounts (NIST SP 800-63B: at least 8).
inline constexpr std::size_t min_password_length = 8;

// Creates an account; the password is hashed with argon2id. Throws invalid_input (email format,
// password length) or already_exists.
account create_account(pqxx::transaction_base& tx, std::string_view email, std::string_view password);
std::optional<account> find_account(pqxx::transaction_base& tx, std::string_view email);

// Creates a site; `domain` is normalised (events::normalize_domain) and `timezone` must be an IANA
// zone PostgreSQL knows. Throws invalid_input or already_exists.
site create_site(pqxx::transaction_base& tx, std::int64_t account_id, std::string_view domain,
                 std::string_view timezone, bool ignore_do_not_track = false);
std::optional<site> find_site(pqxx::transaction_base& tx, std::string_view domain);
std::vector<site> all_sites(pqxx::transaction_base& tx);

// Creates a key and returns its text, which is shown once and never stored (only its SHA-256).
std::string create_api_key(pqxx::transaction_base& tx, std::int64_t account_id, api_scope scope);
// The unrevoked key with this text, if any.
std::optional<api_key> find_api_key(pqxx::transaction_base& tx, std::string_view key_text);

}  // namespace plumb::storage
