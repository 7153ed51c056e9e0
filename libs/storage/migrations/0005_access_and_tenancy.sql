-- Teams, per-site settings, goals, shared links, and Row-Level Security for the dashboard.
--
-- The dashboard connects as plumb_dashboard, a role that owns nothing and is subject to the
-- policies below. Each transaction first sets the GUC plumb.account_id (the signed-in account or
-- the API key's account) or plumb.shared_link_id (a shared-link visitor); without either it sees
-- no tenant row at all. This is defence in depth: the dashboard also checks every route (authz).
-- Everything else (plumbctl, the worker) connects as the owner, which must bypass RLS, because
-- FORCE ROW LEVEL SECURITY applies to table owners too.
--
-- A new tenant table must: ENABLE + FORCE ROW LEVEL SECURITY, get policies through
-- plumb_site_ids(), and be granted to plumb_dashboard (tests check all three); for per-site
-- analytics tables, SELECT plumb_protect_site_data('the_table') does it.

DO $$
BEGIN
  IF NOT (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user) THEN
    RAISE EXCEPTION 'migrations must run as a superuser or a BYPASSRLS role (tables FORCE row-level security)';
  END IF;
  CREATE ROLE plumb_dashboard NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;  -- roles are per cluster: another database (or a concurrent migration) created it
END $$;

-- Roles per site: viewer reads stats; admin also edits settings, goals, shared links and
-- invites; owner also deletes the site and manages owners. The creating account is an owner.
CREATE TABLE site_memberships (
  site_id    bigint NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
  account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  role       text   NOT NULL CHECK (role IN ('owner', 'admin', 'viewer')),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (site_id, account_id)
);
CREATE INDEX site_memberships_account_idx ON site_memberships (account_id);
INSERT INTO site_memberships (site_id, account_id, role) SELECT id, account_id, 'owner' FROM sites;

-- Invitations by email; the token is random, sent once and stored as its SHA-256.
CREATE TABLE invitations (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  site_id    bigint NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
  email      text   NOT NULL CHECK (email = lower(email)),
  role       text   NOT NULL CHECK (role IN ('owner', 'admin', 'viewer')),
  token_hash bytea  NOT NULL,
  invited_by bigint REFERENCES accounts (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX invitations_token_key ON invitations (token_hash);
CREATE UNIQUE INDEX invitations_site_email_key ON invitations (site_id, email);
CREATE INDEX invitations_email_idx ON invitations (email);

ALTER TABLE api_keys ADD COLUMN name text NOT NULL DEFAULT '' CHECK (length(name) <= 100);

-- Applied by collectors (published in the site map): hits from these client ranges are not
-- counted; when allowed_hostnames is not empty, only pages on these hosts ("*.x" wildcards) are.
ALTER TABLE sites ADD COLUMN excluded_ip_ranges text[] NOT NULL DEFAULT '{}';
ALTER TABLE sites ADD COLUMN allowed_hostnames text[] NOT NULL DEFAULT '{}';

-- A goal is a custom event name or a page path pattern ('*' matches any characters).
CREATE TABLE goals (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  site_id    bigint NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
  event_name text CHECK (length(event_name) BETWEEN 1 AND 120),
  page_path  text CHECK (length(page_path) BETWEEN 1 AND 2000),
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((event_name IS NULL) <> (page_path IS NULL))
);
CREATE UNIQUE INDEX goals_event_key ON goals (site_id, event_name) WHERE event_name IS NOT NULL;
CREATE UNIQUE INDEX goals_page_key ON goals (site_id, page_path) WHERE page_path IS NOT NULL;

-- Read-only links to a site's stats. The token is the capability: stored as its SHA-256 and
-- shown once. password_hash (argon2id) makes the link ask for a password.
CREATE TABLE shared_links (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  site_id       bigint NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
  name          text   NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  token_hash    bytea  NOT NULL,
  password_hash text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  revoked_at    timestamptz
);
CREATE UNIQUE INDEX shared_links_token_key ON shared_links (token_hash);
CREATE INDEX shared_links_site_idx ON shared_links (site_id);

-- ---------------------------------------------------------------------------------------------
-- Row-Level Security

CREATE FUNCTION plumb_current_account() RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('plumb.account_id', true), '')::bigint $$;

-- Sites the current principal holds at least `min_role` on ('viewer' < 'admin' < 'owner'); a
-- shared-link visitor is a viewer of that link's site. SECURITY DEFINER: it reads memberships
-- without their own policy (which calls this function) recursing.
CREATE FUNCTION plumb_site_ids(min_role text) RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT site_id FROM public.site_memberships
   WHERE account_id = public.plumb_current_account()
     AND array_position(ARRAY['viewer', 'admin', 'owner'], role)
         >= array_position(ARRAY['viewer', 'admin', 'owner'], min_role)
  UNION ALL
  SELECT site_id FROM public.shared_links
   WHERE min_role = 'viewer' AND revoked_at IS NULL
     AND id = nullif(current_setting('plumb.shared_link_id', true), '')::bigint
$$;

-- The current account's email, and the accounts sharing a site with it (never with a shared
-- link's visitor: member emails are not public). SECURITY DEFINER for
-- the same reason: policies on accounts, memberships and invitations refer to each other.
CREATE FUNCTION plumb_current_email() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT email FROM public.accounts WHERE id = public.plumb_current_account()
$$;
CREATE FUNCTION plumb_fellow_member_ids() RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT account_id FROM public.site_memberships
   WHERE site_id IN (SELECT site_id FROM public.site_memberships WHERE account_id = public.plumb_current_account())
$$;

-- Before anyone is signed in, the dashboard may look up exactly one row by a secret it was
-- given (email for login, a key or link token's hash) and create an account; nothing wider.
CREATE FUNCTION plumb_account_credentials(login_email text, OUT id bigint, OUT password_hash text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT id, password_hash FROM public.accounts WHERE email = login_email
$$;
CREATE FUNCTION plumb_create_account(new_email text, new_password_hash text) RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  INSERT INTO public.accounts (email, password_hash) VALUES (new_email, new_password_hash) RETURNING id
$$;
CREATE FUNCTION plumb_find_api_key(hash bytea, OUT id bigint, OUT account_id bigint, OUT scope text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT id, account_id, scope FROM public.api_keys WHERE key_hash = hash AND revoked_at IS NULL
$$;
CREATE FUNCTION plumb_find_shared_link(hash bytea, OUT id bigint, OUT site_id bigint,
                                       OUT password_hash text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT id, site_id, password_hash FROM public.shared_links WHERE token_hash = hash AND revoked_at IS NULL
$$;
-- The site map collectors read is global: republishing it after a site change needs every
-- site's row, whoever changed it.
CREATE FUNCTION plumb_all_sites() RETURNS SETOF sites
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT * FROM public.sites
$$;
REVOKE ALL ON FUNCTION plumb_site_ids(text), plumb_current_email(), plumb_fellow_member_ids(),
  plumb_account_credentials(text),
  plumb_create_account(text, text), plumb_find_api_key(bytea), plumb_find_shared_link(bytea),
  plumb_all_sites() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION plumb_site_ids(text), plumb_current_email(), plumb_fellow_member_ids(),
  plumb_account_credentials(text),
  plumb_create_account(text, text), plumb_find_api_key(bytea), plumb_find_shared_link(bytea),
  plumb_all_sites() TO plumb_dashboard;

-- Accounts: yourself, and the members of sites you can see (team lists show their emails).
ALTER TABLE accounts ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY account_read ON accounts FOR SELECT
  USING (id = plumb_current_account() OR id IN (SELECT plumb_fellow_member_ids()));
CREATE POLICY account_update ON accounts FOR UPDATE
  USING (id = plumb_current_account()) WITH CHECK (id = plumb_current_account());
GRANT SELECT, UPDATE (password_hash) ON accounts TO plumb_dashboard;

ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY api_key_owner ON api_keys FOR ALL
  USING (account_id = plumb_current_account()) WITH CHECK (account_id = plumb_current_account());
GRANT SELECT, INSERT, UPDATE (revoked_at), DELETE ON api_keys TO plumb_dashboard;

-- Sites: the creating account always sees its own (INSERT ... RETURNING needs that before its
-- owner membership exists); members by role.
ALTER TABLE sites ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY site_read ON sites FOR SELECT
  USING (id IN (SELECT plumb_site_ids('viewer')) OR account_id = plumb_current_account());
CREATE POLICY site_create ON sites FOR INSERT WITH CHECK (account_id = plumb_current_account());
CREATE POLICY site_update ON sites FOR UPDATE
  USING (id IN (SELECT plumb_site_ids('admin'))) WITH CHECK (id IN (SELECT plumb_site_ids('admin')));
CREATE POLICY site_delete ON sites FOR DELETE USING (id IN (SELECT plumb_site_ids('owner')));
GRANT SELECT, INSERT, UPDATE, DELETE ON sites TO plumb_dashboard;

-- Memberships: visible to fellow members; changed by admins (the app keeps owners to owners),
-- by a site's creator (its first owner row), by an invitee accepting, or by a member leaving.
ALTER TABLE site_memberships ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY membership_read ON site_memberships FOR SELECT
  USING (site_id IN (SELECT plumb_site_ids('viewer')));
CREATE POLICY membership_admin ON site_memberships FOR ALL
  USING (site_id IN (SELECT plumb_site_ids('admin')))
  WITH CHECK (site_id IN (SELECT plumb_site_ids('admin')));
CREATE POLICY membership_first_owner ON site_memberships FOR INSERT WITH CHECK (
  role = 'owner' AND account_id = plumb_current_account()
  AND site_id IN (SELECT id FROM sites WHERE account_id = plumb_current_account()));
CREATE POLICY membership_accept ON site_memberships FOR INSERT WITH CHECK (
  account_id = plumb_current_account()
  AND (site_id, role) IN (SELECT site_id, role FROM invitations WHERE email = plumb_current_email()));
CREATE POLICY membership_leave ON site_memberships FOR DELETE USING (account_id = plumb_current_account());
GRANT SELECT, INSERT, UPDATE (role), DELETE ON site_memberships TO plumb_dashboard;

ALTER TABLE invitations ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY invitation_admin ON invitations FOR ALL
  USING (site_id IN (SELECT plumb_site_ids('admin')))
  WITH CHECK (site_id IN (SELECT plumb_site_ids('admin')));
CREATE POLICY invitation_invitee ON invitations FOR SELECT USING (email = plumb_current_email());
CREATE POLICY invitation_accept ON invitations FOR DELETE USING (email = plumb_current_email());
GRANT SELECT, INSERT, DELETE ON invitations TO plumb_dashboard;

-- Site configuration: read by viewers, written by admins.
ALTER TABLE goals ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY goal_read ON goals FOR SELECT USING (site_id IN (SELECT plumb_site_ids('viewer')));
CREATE POLICY goal_write ON goals FOR ALL
  USING (site_id IN (SELECT plumb_site_ids('admin'))) WITH CHECK (site_id IN (SELECT plumb_site_ids('admin')));
GRANT SELECT, INSERT, DELETE ON goals TO plumb_dashboard;

ALTER TABLE shared_links ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY shared_link_read ON shared_links FOR SELECT USING (site_id IN (SELECT plumb_site_ids('viewer')));
CREATE POLICY shared_link_write ON shared_links FOR ALL
  USING (site_id IN (SELECT plumb_site_ids('admin'))) WITH CHECK (site_id IN (SELECT plumb_site_ids('admin')));
GRANT SELECT, INSERT, UPDATE (revoked_at) ON shared_links TO plumb_dashboard;

-- Analytics data: read by viewers, deleted with the site by its owner. Later migrations call
-- this for their own per-site tables. Only partitioned parents are granted: a partition queried
-- directly would skip its parent's policies.
CREATE FUNCTION plumb_protect_site_data(site_data regclass) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', site_data);
  EXECUTE format('CREATE POLICY site_data_read ON %s FOR SELECT USING (site_id IN (SELECT plumb_site_ids(%L)))',
                 site_data, 'viewer');
  EXECUTE format('CREATE POLICY site_data_delete ON %s FOR DELETE USING (site_id IN (SELECT plumb_site_ids(%L)))',
                 site_data, 'owner');
  EXECUTE format('GRANT SELECT, DELETE ON %s TO plumb_dashboard', site_data);
END $$;
REVOKE ALL ON FUNCTION plumb_protect_site_data(regclass) FROM PUBLIC;
SELECT plumb_protect_site_data(t)
  FROM unnest(ARRAY['events', 'dropped_events', 'rollups', 'dimension_values']::regclass[]) AS t;
