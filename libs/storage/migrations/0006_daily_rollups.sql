-- Rollup rows per local day instead of per local hour (events::rollup_bucket_ms), plus the site
-- total per local hour under dimension 7 (total_hourly) for hourly graphs. A year of one value is
-- then at most 365 rows instead of 8,760, which is what a long-range report reads; hourly graphs
-- of filtered views read raw events, at most a few days of them.
--
-- Existing hourly rows are folded into their day in place; the hourly totals are copied first.
-- Sums stay exact and each day's sketch is the union of its hours' (the same sketch the worker
-- builds from the same visitors). They stay in `rollups` until the first worker maintenance run
-- settles them (below): until then reports are right, only long ranges are not yet faster.
INSERT INTO rollups (site_id, dimension, bucket, value_id, pageviews, events, visits, bounces,
                     duration_ms, revenue, visitors)
SELECT site_id, 7, bucket, value_id, pageviews, events, visits, bounces, duration_ms, revenue,
       visitors
  FROM rollups
 WHERE dimension = 0;

CREATE TEMP TABLE daily_rollups ON COMMIT DROP AS
SELECT site_id, dimension, date_trunc('day', bucket) AS bucket, value_id,
       sum(pageviews)::bigint AS pageviews, sum(events)::bigint AS events,
       sum(visits)::bigint AS visits, sum(bounces)::bigint AS bounces,
       sum(duration_ms)::bigint AS duration_ms, sum(revenue) AS revenue,
       hll_union_agg(visitors) AS visitors
  FROM rollups
 WHERE dimension <> 7
 GROUP BY 1, 2, 3, 4;

DELETE FROM rollups WHERE dimension <> 7;

INSERT INTO rollups (site_id, dimension, bucket, value_id, pageviews, events, visits, bounces,
                     duration_ms, revenue, visitors)
SELECT site_id, dimension, bucket, value_id, pageviews, events, visits, bounces, duration_ms,
       revenue, coalesce(visitors, hll_empty())
  FROM daily_rollups;

COMMENT ON COLUMN rollups.bucket IS
  'Start of the local day of the row (local hour for dimension 7, total_hourly), wall clock';

-- Rows of settled days: storage::settle_rollups moves rows out of `rollups` once their day is a
-- few days old, merging on conflict (a late event of a settled day adds a row to `rollups` again,
-- and the next run merges it). Reports read both tables; every counter is a sum, so a row split
-- between them counts the same. Workers never update this table, so it carries the read indexes
-- that would slow every worker upsert on `rollups`: a value over time, and rows by weight (an
-- upper bound of a row's visitors and visits) for top-N breakdowns of long ranges
-- (libs/stats/src/rollup_reader.cpp).
CREATE TABLE rollups_settled (
  LIKE rollups INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
  weight bigint GENERATED ALWAYS AS (pageviews + events + visits) STORED,
  PRIMARY KEY (site_id, dimension, bucket, value_id)
);
CREATE INDEX rollups_settled_value_idx ON rollups_settled (site_id, dimension, value_id, bucket);
CREATE INDEX rollups_settled_weight_idx
  ON rollups_settled (site_id, dimension, weight DESC) INCLUDE (bucket, value_id);
SELECT plumb_protect_site_data('rollups_settled');
