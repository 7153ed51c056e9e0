-- Accounts, sites, API keys, and the raw event table.
-- Every analytics table is keyed by a bigint site_id (never a text id) and every query filters on
-- it: that is what keeps queries fast per tenant and lets Citus distribute by site_id later.

CREATE TABLE accounts (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email         text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
  password_hash text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX accounts_email_key ON accounts (email);

CREATE TABLE sites (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  domain     text NOT NULL CHECK (domain = lower(domain) AND length(domain) BETWEEN 1 AND 253),
  timezone   text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX sites_domain_key ON sites (domain);
CREATE INDEX sites_account_idx ON sites (account_id);

-- API keys are random 32-byte tokens: a plain SHA-256 is enough to store them (no brute force is
-- possible against 256 bits), and lets a request find its key with one index lookup.
CREATE TABLE api_keys (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id   bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  prefix       text NOT NULL,
  key_hash     bytea NOT NULL,
  scope        text NOT NULL CHECK (scope IN ('stats:read', 'sites:admin')),
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz
);
CREATE UNIQUE INDEX api_keys_hash_key ON api_keys (key_hash);
CREATE INDEX api_keys_account_idx ON api_keys (account_id);

-- Raw events, partitioned by month of receive time (partitions are created on demand by the
-- worker, see storage::event_writer). The receive time is embedded in the UUIDv7 event_id, so a
-- redelivered event always targets the same partition and the primary key (which must include the
-- partition column) makes every event stored at most once.
CREATE TABLE events (
  site_id          bigint      NOT NULL,
  received_at      timestamptz NOT NULL,
  event_id         uuid        NOT NULL,
  name             text        NOT NULL,
  url              text        NOT NULL,
  referrer         text,
  screen_width     integer,
  hash_mode        boolean     NOT NULL DEFAULT false,
  interactive      boolean     NOT NULL DEFAULT true,
  visitor_hash     bigint      NOT NULL,
  country          text,
  props            jsonb,
  revenue_currency text,
  revenue_amount   numeric(20, 6),
  PRIMARY KEY (site_id, received_at, event_id)
) PARTITION BY RANGE (received_at);
