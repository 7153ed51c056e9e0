#pragma once
// Who may do what on a site: memberships with a role, and invitations by email.

#include <chrono>
#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

#include "plumb/storage/tenants.hpp"

namespace plumb::storage {

// Ordered: each role may do everything the ones before it may.
enum class site_role { viewer, admin, owner };

std::string_view role_name(site_role role);
std::optional<site_role> parse_role(std::string_view name);

struct site_with_role {
  storage::site site;
  site_role role = site_role::viewer;
};

// The sites `account_id` is a member of, by domain.
std::vector<site_with_role> sites_of(pqxx::transaction_base& tx, std::int64_t account_id);
std::optional<site_role> role_on(pqxx::transaction_base& tx, std::int64_t site_id, std::int64_t account_id);

struct member {
  std::int64_t account_id = 0;
  std::string email;
  site_role role = site_role::viewer;
};
std::vector<member> members_of(pqxx::transaction_base& tx, std::int64_t site_id);
// False when the account is not a member. Throws invalid_input("role") when the change would
// leave the site without an owner.
bool set_role(pqxx::transaction_base& tx, std::int64_t site_id, std::int64_t account_id, site_role role);
bool remove_member(pqxx::transaction_base& tx, std::int64_t site_id, std::int64_t account_id);

struct invitation {
  std::int64_t id = 0;
  std::int64_t site_id = 0;
  std::string email;
  site_role role = site_role::viewer;
  std::string expires_at;  // ISO 8601, UTC
};

struct issued_invitation {
  storage::invitation invitation;
  std::string token;  // sent to the invitee once, stored only as its hash
};

// How long an invitation can be accepted.
inline constexpr std::chrono::hours invitation_lifetime{24 * 7};

// Invites `email` (replacing a pending invitation of the same address). Throws invalid_input
// for a malformed email or when the address already belongs to a member.
issued_invitation invite(pqxx::transaction_base& tx, std::int64_t site_id, std::string_view email,
                         site_role role, std::int64_t invited_by);
std::vector<invitation> invitations_of(pqxx::transaction_base& tx, std::int64_t site_id);
bool cancel_invitation(pqxx::transaction_base& tx, std::int64_t site_id, std::int64_t invitation_id);
// Makes `account_id` a member with the invited role when `token` names an unexpired invitation
// to that account's email (an existing member keeps their role); the invitation is used up.
// Returns the site, or nullopt for an unknown, expired or someone else's invitation.
std::optional<site_with_role> accept_invitation(pqxx::transaction_base& tx, std::int64_t account_id,
                                                std::string_view token);

}  // namespace plumb::storage
