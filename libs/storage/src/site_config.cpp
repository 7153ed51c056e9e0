#include "plumb/storage/site_config.hpp"

#include "plumb/crypto/crypto.hpp"
#include "plumb/storage/tenants.hpp"
#include "secret_tokens.hpp"
#include "select_lists.hpp"

namespace plumb::storage {
namespace {

constexpr std::size_t max_event_name_length = 120;  // the collector's limit on event names
constexpr std::size_t max_page_path_length = 2'000;  // the worker's limit on stored paths
constexpr std::size_t max_link_name_length = 100;
constexpr std::string_view shared_link_token_prefix = "plumb_share_";

goal goal_from_row(const pqxx::row& row) {
  goal g{row[0].as<std::int64_t>(), std::nullopt, std::nullopt};
  if (!row[1].is_null()) {
    g.event_name = row[1].as<std::string>();
  }
  if (!row[2].is_null()) {
    g.page_path = row[2].as<std::string>();
  }
  return g;
}

}  // namespace

std::vector<goal> goals_of(pqxx::transaction_base& tx, std::int64_t site_id) {
  std::vector<goal> out;
  for (const auto& row : tx.exec_params("SELECT id, event_name, page_path FROM goals WHERE site_id = $1 ORDER BY id",
                                        site_id)) {
    out.push_back(goal_from_row(row));
  }
  return out;
}

goal create_goal(pqxx::transaction_base& tx, std::int64_t site_id, const std::optional<std::string>& event_name,
                 const std::optional<std::string>& page_path) {
  if (event_name.has_value() == page_path.has_value()) {
    throw invalid_input("goal", "give either event_name or page_path");
  }
  if (event_name && (event_name->empty() || event_name->size() > max_event_name_length)) {
    throw invalid_input("event_name", "event_name must be 1 to 120 characters");
  }
  if (page_path && (page_path->empty() || page_path->front() != '/' || page_path->size() > max_page_path_length)) {
    throw invalid_input("page_path", "page_path must start with '/' and be at most 2000 characters ('*' is a wildcard)");
  }
  try {
    return goal_from_row(tx.exec_params1(
        "INSERT INTO goals (site_id, event_name, page_path) VALUES ($1, $2, $3) RETURNING id, event_name, page_path",
        site_id, event_name ? event_name->c_str() : nullptr, page_path ? page_path->c_str() : nullptr));
  } catch (const pqxx::unique_violation&) {
    throw already_exists("goal", "the site already has this goal");
  }
}

bool delete_goal(pqxx::transaction_base& tx, std::int64_t site_id, std::int64_t goal_id) {
  return tx.exec_params("DELETE FROM goals WHERE id = $1 AND site_id = $2", goal_id, site_id).affected_rows() == 1;
}

issued_shared_link create_shared_link(pqxx::transaction_base& tx, std::int64_t site_id, std::string_view name,
                                      const std::optional<std::string>& password) {
  if (name.empty() || name.size() > max_link_name_length) {
    throw invalid_input("name", "name must be 1 to 100 characters");
  }
  std::optional<std::string> hash;
  if (password) {
    validate_password(*password);
    hash = crypto::hash_password(*password);
  }
  const std::string token = new_token(shared_link_token_prefix);
  const auto row = tx.exec_params1(
      "INSERT INTO shared_links (site_id, name, token_hash, password_hash) VALUES ($1, $2, $3, $4) "
      "RETURNING id, " + iso_utc("created_at"),
      site_id, std::string(name), token_hash(token), hash ? hash->c_str() : nullptr);
  return {{row[0].as<std::int64_t>(), std::string(name), password.has_value(), row[1].as<std::string>()}, token};
}

std::vector<shared_link> shared_links_of(pqxx::transaction_base& tx, std::int64_t site_id) {
  std::vector<shared_link> out;
  for (const auto& row : tx.exec_params(
           "SELECT id, name, password_hash IS NOT NULL, " + iso_utc("created_at") +
               " FROM shared_links WHERE site_id = $1 AND revoked_at IS NULL ORDER BY id",
           site_id)) {
    out.push_back({row[0].as<std::int64_t>(), row[1].as<std::string>(), row[2].as<bool>(), row[3].as<std::string>()});
  }
  return out;
}

bool revoke_shared_link(pqxx::transaction_base& tx, std::int64_t site_id, std::int64_t link_id) {
  return tx.exec_params("UPDATE shared_links SET revoked_at = now() WHERE id = $1 AND site_id = $2 AND revoked_at IS NULL",
                        link_id, site_id)
             .affected_rows() == 1;
}

std::optional<shared_link_grant> find_shared_link(pqxx::transaction_base& tx, std::string_view token) {
  const auto result = tx.exec_params(
      "SELECT id, site_id, password_hash FROM plumb_find_shared_link($1) WHERE id IS NOT NULL", token_hash(token));
  if (result.empty()) {
    return std::nullopt;
  }
  shared_link_grant grant{result[0][0].as<std::int64_t>(), result[0][1].as<std::int64_t>(), std::nullopt};
  if (!result[0][2].is_null()) {
    grant.password_hash = result[0][2].as<std::string>();
  }
  return grant;
}

}  // namespace plumb::storage
