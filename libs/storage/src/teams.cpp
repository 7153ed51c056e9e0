#include "plumb/storage/teams.hpp"

#include <algorithm>
#include <array>

#include "secret_tokens.hpp"
#include "select_lists.hpp"

namespace plumb::storage {
namespace {

constexpr std::array<std::string_view, 3> role_names{"viewer", "admin", "owner"};
constexpr std::string_view invitation_token_prefix = "plumb_inv_";

site_role role_from(const pqxx::field& field) {
  return parse_role(field.as<std::string>()).value_or(site_role::viewer);
}

std::int64_t owner_count(pqxx::transaction_base& tx, std::int64_t site_id) {
  return tx.exec_params1("SELECT count(*) FROM site_memberships WHERE site_id = $1 AND role = 'owner'", site_id)[0]
      .as<std::int64_t>();
}

}  // namespace

std::string_view role_name(site_role role) {
  return role_names.at(static_cast<std::size_t>(role));
}

std::optional<site_role> parse_role(std::string_view name) {
  const auto it = std::find(role_names.begin(), role_names.end(), name);
  if (it == role_names.end()) {
    return std::nullopt;
  }
  return static_cast<site_role>(it - role_names.begin());
}

std::vector<site_with_role> sites_of(pqxx::transaction_base& tx, std::int64_t account_id) {
  std::vector<site_with_role> out;
  for (const auto& row : tx.exec_params("SELECT " + site_columns("s") +
                                            ", m.role FROM sites s JOIN site_memberships m ON m.site_id = s.id "
                                            "WHERE m.account_id = $1 ORDER BY s.domain",
                                        account_id)) {
    out.push_back({site_from_row(row), role_from(row[row.size() - 1])});
  }
  return out;
}

std::optional<site_role> role_on(pqxx::transaction_base& tx, std::int64_t site_id, std::int64_t account_id) {
  const auto result = tx.exec_params(
      "SELECT role FROM site_memberships WHERE site_id = $1 AND account_id = $2", site_id, account_id);
  if (result.empty()) {
    return std::nullopt;
  }
  return role_from(result[0][0]);
}

std::vector<member> members_of(pqxx::transaction_base& tx, std::int64_t site_id) {
  std::vector<member> out;
  for (const auto& row : tx.exec_params("SELECT a.id, a.email, m.role FROM site_memberships m "
                                        "JOIN accounts a ON a.id = m.account_id WHERE m.site_id = $1 ORDER BY a.email",
                                        site_id)) {
    out.push_back({row[0].as<std::int64_t>(), row[1].as<std::string>(), role_from(row[2])});
  }
  return out;
}

bool set_role(pqxx::transaction_base& tx, std::int64_t site_id, std::int64_t account_id, site_role role) {
  const auto current = role_on(tx, site_id, account_id);
  if (!current) {
    return false;
  }
  if (*current == site_role::owner && role != site_role::owner && owner_count(tx, site_id) == 1) {
    throw invalid_input("role", "a site needs at least one owner: make someone else owner first");
  }
  tx.exec_params("UPDATE site_memberships SET role = $3 WHERE site_id = $1 AND account_id = $2", site_id, account_id,
                 std::string(role_name(role)));
  return true;
}

bool remove_member(pqxx::transaction_base& tx, std::int64_t site_id, std::int64_t account_id) {
  const auto current = role_on(tx, site_id, account_id);
  if (!current) {
    return false;
  }
  if (*current == site_role::owner && owner_count(tx, site_id) == 1) {
    throw invalid_input("account", "a site needs at least one owner: make someone else owner first");
  }
  tx.exec_params("DELETE FROM site_memberships WHERE site_id = $1 AND account_id = $2", site_id, account_id);
  return true;
}

issued_invitation invite(pqxx::transaction_base& tx, std::int64_t site_id, std::string_view email_input,
                         site_role role, std::int64_t invited_by) {
  const std::string email = normalize_email(email_input);
  if (!tx.exec_params("SELECT 1 FROM site_memberships m JOIN accounts a ON a.id = m.account_id "
                      "WHERE m.site_id = $1 AND a.email = $2",
                      site_id, email)
           .empty()) {
    throw already_exists("email", "this address already belongs to a member of the site");
  }
  const std::string token = new_token(invitation_token_prefix);
  tx.exec_params("DELETE FROM invitations WHERE site_id = $1 AND email = $2", site_id, email);
  const auto row = tx.exec_params1(
      std::string("INSERT INTO invitations (site_id, email, role, token_hash, invited_by, expires_at) "
                  "VALUES ($1, $2, $3, $4, $5, now() + make_interval(hours => $6)) "
                  "RETURNING id, ") + iso_utc("expires_at"),
      site_id, email, std::string(role_name(role)), token_hash(token), invited_by,
      static_cast<int>(invitation_lifetime.count()));
  return {{row[0].as<std::int64_t>(), site_id, email, role, row[1].as<std::string>()}, token};
}

std::vector<invitation> invitations_of(pqxx::transaction_base& tx, std::int64_t site_id) {
  std::vector<invitation> out;
  for (const auto& row : tx.exec_params("SELECT id, email, role, " + iso_utc("expires_at") +
                                            " FROM invitations WHERE site_id = $1 ORDER BY email",
                                        site_id)) {
    out.push_back({row[0].as<std::int64_t>(), site_id, row[1].as<std::string>(), role_from(row[2]),
                   row[3].as<std::string>()});
  }
  return out;
}

bool cancel_invitation(pqxx::transaction_base& tx, std::int64_t site_id, std::int64_t invitation_id) {
  return tx.exec_params("DELETE FROM invitations WHERE id = $1 AND site_id = $2", invitation_id, site_id)
             .affected_rows() == 1;
}

std::optional<site_with_role> accept_invitation(pqxx::transaction_base& tx, std::int64_t account_id,
                                                std::string_view token) {
  const auto found = tx.exec_params(
      "SELECT i.id, i.site_id, i.role FROM invitations i JOIN accounts a ON a.email = i.email "
      "WHERE i.token_hash = $1 AND a.id = $2 AND i.expires_at > now()",
      token_hash(token), account_id);
  if (found.empty()) {
    return std::nullopt;
  }
  const auto invitation_id = found[0][0].as<std::int64_t>();
  const auto site_id = found[0][1].as<std::int64_t>();
  const auto invited = role_from(found[0][2]);
  const auto current = role_on(tx, site_id, account_id);
  if (!current) {
    tx.exec_params("INSERT INTO site_memberships (site_id, account_id, role) VALUES ($1, $2, $3)", site_id,
                   account_id, std::string(role_name(invited)));
  }
  tx.exec_params("DELETE FROM invitations WHERE id = $1", invitation_id);
  const auto sites = sites_of(tx, account_id);
  const auto it = std::find_if(sites.begin(), sites.end(), [site_id](const auto& s) { return s.site.id == site_id; });
  if (it == sites.end()) {
    return std::nullopt;
  }
  return *it;
}

}  // namespace plumb::storage
