#include "sites_api.hpp"

#include "json_body.hpp"
#include "plumb/crypto/crypto.hpp"
#include "plumb/json/writer.hpp"
#include "plumb/storage/site_config.hpp"
#include "plumb/redis/connection.hpp"
#include "plumb/storage/site_map_publisher.hpp"

namespace plumb::dashboard {
namespace {

using storage::site_role;

http::response no_content() { return http::response::text(204, ""); }

http::response not_found(std::string field, std::string message) {
  return http::response::errors(404, {{std::move(field), std::move(message)}});
}

void write_strings(json::writer& w, const std::vector<std::string>& values) {
  w.begin_array();
  for (const auto& v : values) {
    w.value(v);
  }
  w.end_array();
}

class sites_api {
 public:
  explicit sites_api(dashboard_services& services) : s_(services) {}

  http::response list(request_context& ctx) {
    return list_response("sites", storage::sites_of(ctx.tx, ctx.who.account_id), [](json::writer& w, const auto& entry) {
      w.begin_object().key("domain").value(entry.site.domain).key("timezone").value(entry.site.timezone);
      w.key("role").value(storage::role_name(entry.role)).end_object();
    });
  }

  http::response create(request_context& ctx) {
    const auto site = storage::create_site(ctx.tx, ctx.who.account_id, required_string(ctx.body, "domain"),
                                           optional_string(ctx.body, "timezone").value_or("UTC"));
    publish_after_commit(ctx);
    return http::response::json(201, site_json({site, site_role::owner}));
  }

  http::response show(request_context& ctx) { return http::response::json(200, site_json(*ctx.site)); }

  http::response update(request_context& ctx) {
    storage::site_changes changes;
    changes.domain = optional_string(ctx.body, "domain");
    changes.timezone = optional_string(ctx.body, "timezone");
    changes.ignore_do_not_track = optional_bool(ctx.body, "ignore_do_not_track");
    changes.excluded_ip_ranges = optional_string_list(ctx.body, "excluded_ip_ranges");
    changes.allowed_hostnames = optional_string_list(ctx.body, "allowed_hostnames");
    const auto retention = optional_nullable_int(ctx.body, "retention_days");
    changes.change_retention = retention.present;
    changes.retention_days = retention.value;
    const auto site = storage::update_site(ctx.tx, ctx.site->site.id, changes);
    publish_after_commit(ctx);
    return http::response::json(200, site_json({site, ctx.site->role}));
  }

  http::response remove(request_context& ctx) {
    const auto site_id = ctx.site->site.id;
    storage::delete_site(ctx.tx, site_id);
    publish_after_commit(ctx);
    // Then what Redis holds about the site (visit state, live visitors, cached stats). A failure
    // leaves keys that expire on their own, except the stats version (a counter, no data).
    ctx.after_commit.push_back([this, site_id] {
      try {
        auto redis = s_.redis.acquire();
        for (const auto& key : s_.keys.site_state_keys(site_id)) {
          redis->command({"UNLINK", key});
        }
        for (const auto& prefix : s_.keys.site_state_prefixes(site_id)) {
          redis::delete_prefixed(*redis, prefix);
        }
      } catch (const std::exception& e) {
        s_.warn(std::string("deleting a deleted site's Redis state failed: ") + e.what());
      }
    });
    return no_content();
  }

  http::response list_goals(request_context& ctx) {
    return list_response("goals", storage::goals_of(ctx.tx, ctx.site->site.id), write_goal);
  }

  http::response create_goal(request_context& ctx) {
    const auto goal = storage::create_goal(ctx.tx, ctx.site->site.id, optional_string(ctx.body, "event_name"),
                                           optional_string(ctx.body, "page_path"));
    json::writer w;
    write_goal(w, goal);
    return http::response::json(201, std::move(w).str());
  }

  http::response delete_goal(request_context& ctx) {
    const auto id = id_param(ctx, "goal");
    if (!id || !storage::delete_goal(ctx.tx, ctx.site->site.id, *id)) {
      return not_found("goal", "no such goal");
    }
    return no_content();
  }

  http::response list_shared_links(request_context& ctx) {
    return list_response("shared_links", storage::shared_links_of(ctx.tx, ctx.site->site.id),
                         [](json::writer& w, const storage::shared_link& link) { write_link(w, link, {}); });
  }

  http::response create_shared_link(request_context& ctx) {
    const auto issued = storage::create_shared_link(ctx.tx, ctx.site->site.id, required_string(ctx.body, "name"),
                                                    optional_string(ctx.body, "password"));
    json::writer w;
    write_link(w, issued.link, s_.public_url + "/share/" + issued.token);
    return http::response::json(201, std::move(w).str());
  }

  http::response revoke_shared_link(request_context& ctx) {
    const auto id = id_param(ctx, "link");
    if (!id || !storage::revoke_shared_link(ctx.tx, ctx.site->site.id, *id)) {
      return not_found("link", "no such shared link");
    }
    return no_content();
  }

  http::response members(request_context& ctx) {
    json::writer w;
    w.begin_object().key("members").begin_array();
    for (const auto& m : storage::members_of(ctx.tx, ctx.site->site.id)) {
      w.begin_object().key("account_id").value(m.account_id).key("email").value(m.email);
      w.key("role").value(storage::role_name(m.role)).end_object();
    }
    w.end_array().key("invitations").begin_array();
    if (ctx.site->role >= site_role::admin) {
      for (const auto& i : storage::invitations_of(ctx.tx, ctx.site->site.id)) {
        write_invitation(w, i);
      }
    }
    w.end_array().end_object();
    return http::response::json(200, std::move(w).str());
  }

  http::response invite(request_context& ctx) {
    const auto role = storage::parse_role(optional_string(ctx.body, "role").value_or("viewer"));
    if (!role) {
      return http::response::errors(400, {{"role", "role must be viewer, admin or owner"}});
    }
    if (*role > ctx.site->role) {
      return http::response::errors(403, {{"role", "you cannot grant a role above your own"}});
    }
    const auto issued =
        storage::invite(ctx.tx, ctx.site->site.id, required_string(ctx.body, "email"), *role, ctx.who.account_id);
    ctx.after_commit.push_back([this, to = issued.invitation.email, domain = ctx.site->site.domain,
                                link = s_.public_url + "/invitation#token=" + issued.token] {
      s_.send_mail({to, "You are invited to " + domain + " on Plumb", link});
    });
    json::writer w;
    write_invitation(w, issued.invitation);
    return http::response::json(201, std::move(w).str());
  }

  http::response cancel_invitation(request_context& ctx) {
    const auto id = id_param(ctx, "invitation");
    if (!id || !storage::cancel_invitation(ctx.tx, ctx.site->site.id, *id)) {
      return not_found("invitation", "no such invitation");
    }
    return no_content();
  }

  http::response change_role(request_context& ctx) {
    const auto id = id_param(ctx, "account");
    const auto role = storage::parse_role(required_string(ctx.body, "role"));
    if (!role) {
      return http::response::errors(400, {{"role", "role must be viewer, admin or owner"}});
    }
    if (!id || !storage::set_role(ctx.tx, ctx.site->site.id, *id, *role)) {
      return not_found("account", "no such member");
    }
    return no_content();
  }

  http::response remove_member(request_context& ctx) {
    const auto id = id_param(ctx, "account");
    const auto role = id ? storage::role_on(ctx.tx, ctx.site->site.id, *id) : std::nullopt;
    if (!role) {
      return not_found("account", "no such member");
    }
    if (*role > ctx.site->role) {
      return http::response::errors(403, {{"account", "only owners can remove owners"}});
    }
    storage::remove_member(ctx.tx, ctx.site->site.id, *id);
    return no_content();
  }

  http::response leave(request_context& ctx) {
    storage::remove_member(ctx.tx, ctx.site->site.id, ctx.who.account_id);
    return no_content();
  }

  http::response shared_site(request_context& ctx) {
    json::writer w;
    w.begin_object().key("domain").value(ctx.site->site.domain).key("timezone").value(ctx.site->site.timezone);
    w.end_object();
    return http::response::json(200, std::move(w).str());
  }

  http::response unlock_shared_link(request_context& ctx) {
    const std::string password = required_string(ctx.body, "password");
    if (const auto wait = s_.limits.attempt(anonymous_per_client, client_address(s_, ctx.req)); wait.count() > 0) {
      return http::response::errors(429, {{"rate_limit", "too many attempts; try again later"}})
          .with_header("Retry-After", std::to_string(wait.count()));
    }
    const auto link = storage::find_shared_link(ctx.tx, ctx.path_param("share"));
    if (!link) {
      return not_found("site", "no such site");
    }
    if (link->password_hash && !crypto::verify_password(*link->password_hash, password)) {
      return http::response::errors(401, {{"password", "wrong password"}});
    }
    const auto started = s_.sessions.start_for_shared_link(link->id);
    // The cookie for the link opened as a page; the token for the page framed by another site,
    // which sends it back in X-Plumb-Unlock (sessions.hpp).
    json::writer w;
    w.begin_object().key("unlock_token").value(started.token).end_object();
    return http::response::json(200, std::move(w).str())
        .with_header("Set-Cookie",
                     session_cookie_header(shared_link_cookie, started.token, s_.sessions.timeouts().absolute));
  }

 private:
  std::string site_json(const storage::site_with_role& entry) const {
    const auto& site = entry.site;
    json::writer w;
    w.begin_object().key("domain").value(site.domain).key("timezone").value(site.timezone);
    w.key("role").value(storage::role_name(entry.role));
    w.key("ignore_do_not_track").value(site.ignore_do_not_track);
    w.key("excluded_ip_ranges");
    write_strings(w, site.excluded_ip_ranges);
    w.key("allowed_hostnames");
    write_strings(w, site.allowed_hostnames);
    w.key("retention_days");
    if (site.retention_days) {
      w.value(*site.retention_days);
    } else {
      w.null();
    }
    w.key("tracking_snippet")
        .value("<script defer data-domain=\"" + site.domain + "\" src=\"" + s_.collector_url + "/js/script.js\"></script>");
    w.end_object();
    return std::move(w).str();
  }

  static void write_goal(json::writer& w, const storage::goal& goal) {
    w.begin_object().key("id").value(goal.id);
    w.key("event_name");
    goal.event_name ? w.value(*goal.event_name) : w.null();
    w.key("page_path");
    goal.page_path ? w.value(*goal.page_path) : w.null();
    w.end_object();
  }

  static void write_link(json::writer& w, const storage::shared_link& link, const std::string& url) {
    w.begin_object().key("id").value(link.id).key("name").value(link.name);
    w.key("password_protected").value(link.password_protected).key("created_at").value(link.created_at);
    if (!url.empty()) {
      w.key("url").value(url).key("notice").value("the link is shown only now; revoke it and make another if lost");
    }
    w.end_object();
  }

  static void write_invitation(json::writer& w, const storage::invitation& i) {
    w.begin_object().key("id").value(i.id).key("email").value(i.email).key("role").value(storage::role_name(i.role));
    w.key("expires_at").value(i.expires_at).end_object();
  }

  // Collectors learn about the change within their refresh interval. A failed publish leaves the
  // committed change in PostgreSQL; the next publish (any site change, `plumbctl site publish`)
  // carries it.
  void publish_after_commit(request_context& ctx) {
    ctx.after_commit.push_back([this] {
      try {
        auto conn = s_.pg.acquire();
        pqxx::work tx(*conn);
        auto redis = s_.redis.acquire();
        storage::publish_site_map(tx, *redis, s_.keys);
        tx.commit();
      } catch (const std::exception& e) {
        s_.warn(std::string("publishing the site map failed: ") + e.what());
      }
    });
  }

  dashboard_services& s_;
};

}  // namespace

void add_site_routes(secure_routes& routes) {
  using http::verb;
  using storage::api_scope;
  auto api = std::make_shared<sites_api>(routes.services());
  const auto bind = member_binder(api);
  const auto viewer = route_policy::on_site(site_role::viewer, api_scope::sites_admin);
  const auto admin = route_policy::on_site(site_role::admin, api_scope::sites_admin);
  const auto owner = route_policy::on_site(site_role::owner, api_scope::sites_admin);
  const auto account = route_policy::signed_in_or_key(api_scope::sites_admin);
  routes.add(verb::get, "/api/sites", account, bind(&sites_api::list));
  routes.add(verb::post, "/api/sites", account, bind(&sites_api::create));
  routes.add(verb::get, "/api/sites/{site}", viewer, bind(&sites_api::show));
  routes.add(verb::patch, "/api/sites/{site}", admin, bind(&sites_api::update));
  routes.add(verb::delete_, "/api/sites/{site}", owner, bind(&sites_api::remove));
  routes.add(verb::get, "/api/sites/{site}/goals", viewer, bind(&sites_api::list_goals));
  routes.add(verb::post, "/api/sites/{site}/goals", admin, bind(&sites_api::create_goal));
  routes.add(verb::delete_, "/api/sites/{site}/goals/{goal}", admin, bind(&sites_api::delete_goal));
  routes.add(verb::get, "/api/sites/{site}/shared-links", admin, bind(&sites_api::list_shared_links));
  routes.add(verb::post, "/api/sites/{site}/shared-links", admin, bind(&sites_api::create_shared_link));
  routes.add(verb::delete_, "/api/sites/{site}/shared-links/{link}", admin, bind(&sites_api::revoke_shared_link));
  // Teams are managed by people, not scripts: sessions only.
  routes.add(verb::get, "/api/sites/{site}/members", route_policy::on_site(site_role::viewer),
             bind(&sites_api::members));
  routes.add(verb::post, "/api/sites/{site}/invitations", route_policy::on_site(site_role::admin),
             bind(&sites_api::invite));
  routes.add(verb::delete_, "/api/sites/{site}/invitations/{invitation}", route_policy::on_site(site_role::admin),
             bind(&sites_api::cancel_invitation));
  routes.add(verb::patch, "/api/sites/{site}/members/{account}", route_policy::on_site(site_role::owner),
             bind(&sites_api::change_role));
  routes.add(verb::delete_, "/api/sites/{site}/members/{account}", route_policy::on_site(site_role::admin),
             bind(&sites_api::remove_member));
  routes.add(verb::delete_, "/api/sites/{site}/membership", route_policy::on_site(site_role::viewer),
             bind(&sites_api::leave));
  routes.add(verb::get, "/api/shared/{share}", route_policy::shared_link_visitor(), bind(&sites_api::shared_site));
  routes.add(verb::post, "/api/shared/{share}/unlock", route_policy::public_route(),
             bind(&sites_api::unlock_shared_link));
}

}  // namespace plumb::dashboard
