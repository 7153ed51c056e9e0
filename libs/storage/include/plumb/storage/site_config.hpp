#pragma once
// What a site's admins configure beyond its settings row: goals and shared links.

#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

namespace plumb::storage {

// A conversion goal: a custom event name, or a page path where '*' matches any characters
// ("/blog/*", "/signup/*/done").
struct goal {
  std::int64_t id = 0;
  std::optional<std::string> event_name;
  std::optional<std::string> page_path;
};

std::vector<goal> goals_of(pqxx::transaction_base& tx, std::int64_t site_id);
// Exactly one of the two must be set. Throws invalid_input (length, a path not starting with
// '/', both or neither given) or already_exists.
goal create_goal(pqxx::transaction_base& tx, std::int64_t site_id, const std::optional<std::string>& event_name,
                 const std::optional<std::string>& page_path);
bool delete_goal(pqxx::transaction_base& tx, std::int64_t site_id, std::int64_t goal_id);

struct shared_link {
  std::int64_t id = 0;
  std::string name;
  bool password_protected = false;
  std::string created_at;  // ISO 8601, UTC
};

struct issued_shared_link {
  storage::shared_link link;
  std::string token;  // the capability in the link's URL: shown once, stored only as its hash
};

// Throws invalid_input for a name of 0 or over 100 characters or a password outside 8..1024.
issued_shared_link create_shared_link(pqxx::transaction_base& tx, std::int64_t site_id, std::string_view name,
                                      const std::optional<std::string>& password);
// The unrevoked links of a site.
std::vector<shared_link> shared_links_of(pqxx::transaction_base& tx, std::int64_t site_id);
bool revoke_shared_link(pqxx::transaction_base& tx, std::int64_t site_id, std::int64_t link_id);

struct shared_link_grant {
  std::int64_t id = 0;
  std::int64_t site_id = 0;
  std::optional<std::string> password_hash;  // argon2id; nullopt for a public link
};
// The unrevoked link with this token, whatever the principal (pre-authentication lookup).
std::optional<shared_link_grant> find_shared_link(pqxx::transaction_base& tx, std::string_view token);

}  // namespace plumb::storage
