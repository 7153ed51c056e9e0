-- Enriched raw events, the per-site dictionary of their text values, and the rollups reports read.
--
-- 0001's raw table predates enrichment and was never released: its rows carry no user agent or
-- visit to enrich them with, so it is replaced rather than migrated.
DROP TABLE events;

CREATE EXTENSION IF NOT EXISTS hll;

-- Text values of every dimension (paths, referrer hosts, browsers, campaign tags...), numbered
-- per site: events and rollups store the number, so hot indexes never hold wide text and one
-- site's values never leak into another's reports. Values are bounded by the worker (paths and
-- property values at 2,000 bytes), well under the btree tuple limit.
CREATE TABLE dimension_values (
  site_id bigint NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
  id      bigint GENERATED ALWAYS AS IDENTITY,
  value   text   NOT NULL,
  PRIMARY KEY (site_id, id)
);
CREATE UNIQUE INDEX dimension_values_value_key ON dimension_values (site_id, value);

-- Raw events, partitioned by month of the collector's receive time (never the worker's clock).
-- The UUIDv7 event_id embeds that time, so a redelivered event targets the same partition and the
-- primary key stores it at most once. Rows are never updated: visit changes are rollup deltas.
-- Every *_id column is a dimension_values id of the same site (see events/dimension.hpp).
CREATE TABLE events (
  site_id             bigint      NOT NULL,
  received_at         timestamptz NOT NULL,
  event_id            uuid        NOT NULL,
  visit_id            uuid        NOT NULL,  -- event_id of the event that opened the visit
  visitor_hash        bigint      NOT NULL,
  name_id             bigint      NOT NULL,  -- "pageview" or the custom event name
  interactive         boolean     NOT NULL,
  hostname_id         bigint      NOT NULL,
  page_id             bigint      NOT NULL,
  -- This event's own traffic source; a visit's is that of its first event.
  source_id           bigint      NOT NULL,
  referrer_id         bigint      NOT NULL,
  channel_id          bigint      NOT NULL,
  utm_source_id       bigint      NOT NULL,
  utm_medium_id       bigint      NOT NULL,
  utm_campaign_id     bigint      NOT NULL,
  utm_term_id         bigint      NOT NULL,
  utm_content_id      bigint      NOT NULL,
  country_id          bigint      NOT NULL,
  browser_id          bigint      NOT NULL,
  browser_version_id  bigint      NOT NULL,
  os_id               bigint      NOT NULL,
  os_version_id       bigint      NOT NULL,
  device_id           bigint      NOT NULL,
  screen_id           bigint      NOT NULL,
  props               jsonb,
  revenue_currency    text,
  revenue_amount      numeric(20, 6),
  PRIMARY KEY (site_id, received_at, event_id)
) PARTITION BY RANGE (received_at);

-- Events the worker dropped (bots, referrer spam...), kept only as ids so a redelivered one is
-- tallied once; the tally itself is the rollup dimension "dropped". Same monthly partitions.
CREATE TABLE dropped_events (
  site_id     bigint      NOT NULL,
  received_at timestamptz NOT NULL,
  event_id    uuid        NOT NULL,
  PRIMARY KEY (site_id, received_at, event_id)
) PARTITION BY RANGE (received_at);

-- Additive counters and HyperLogLog visitor sketches per site, dimension value and hour of the
-- site's local time (wall clock, so :30/:45 offsets and DST days bucket as the site sees them;
-- the repeated hour of a DST fall-back shares one bucket). Updated in the same transaction as the
-- raw insert, from exactly the rows that insert added. value_id 0 never occurs: every value,
-- even "", has a dimension_values id.
CREATE TABLE rollups (
  site_id     bigint    NOT NULL,
  dimension   smallint  NOT NULL,
  bucket      timestamp NOT NULL,
  value_id    bigint    NOT NULL,
  pageviews   bigint    NOT NULL DEFAULT 0,
  events      bigint    NOT NULL DEFAULT 0,  -- custom events
  visits      bigint    NOT NULL DEFAULT 0,  -- entries for entry_page, exits for exit_page
  bounces     bigint    NOT NULL DEFAULT 0,
  duration_ms bigint    NOT NULL DEFAULT 0,  -- summed over visits; average = duration_ms / visits
  revenue     numeric(24, 6) NOT NULL DEFAULT 0,
  visitors    hll       NOT NULL DEFAULT hll_empty(),
  PRIMARY KEY (site_id, dimension, bucket, value_id)
);
