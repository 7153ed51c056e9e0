-- Each value's weight (pageviews + events + visits) summed over all its settled rows: an upper
-- bound of its visitors and visits in any range of days, which lets a breakdown page of a long
-- range skip the values that cannot reach it by an index instead of summing their rows
-- (libs/stats/src/rollup_reader.cpp). Rows still in `rollups` are added by the reader.
CREATE TABLE rollup_value_totals (
  site_id   bigint   NOT NULL,
  dimension smallint NOT NULL,
  value_id  bigint   NOT NULL,
  weight    bigint   NOT NULL,
  PRIMARY KEY (site_id, dimension, value_id)
);
CREATE INDEX rollup_value_totals_weight_idx
  ON rollup_value_totals (site_id, dimension, weight DESC) INCLUDE (value_id);
SELECT plumb_protect_site_data('rollup_value_totals');

-- Kept by triggers on `rollups_settled`, in the transaction of each change, so no writer can leave
-- a total too low (which would make a breakdown skip a value): settling's merges, retention
-- expiry, site deletion, a migration writing settled rows, a worker older than this migration.
-- Per statement, one upsert of the changed values in key order (concurrent settlers wait on each
-- other's totals rows but never deadlock). SECURITY DEFINER: the dashboard role deletes a site's
-- rows but may not write totals itself.
CREATE FUNCTION plumb_total_settled_weights() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  added_rows   constant text := 'SELECT site_id, dimension, value_id, weight FROM added';
  removed_rows constant text := 'SELECT site_id, dimension, value_id, -weight FROM removed';
BEGIN
  -- Each event has only its own transition tables, hence the statement text per event.
  EXECUTE 'INSERT INTO public.rollup_value_totals AS t (site_id, dimension, value_id, weight)'
    ' SELECT site_id, dimension, value_id, sum(change) FROM ('
    || CASE TG_OP WHEN 'INSERT' THEN added_rows
                  WHEN 'UPDATE' THEN added_rows || ' UNION ALL ' || removed_rows
                  ELSE removed_rows END
    || ') c (site_id, dimension, value_id, change) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3'
       ' ON CONFLICT (site_id, dimension, value_id) DO UPDATE SET weight = t.weight + excluded.weight';
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION plumb_total_settled_weights() FROM PUBLIC;

CREATE TRIGGER rollups_settled_totals_insert AFTER INSERT ON rollups_settled
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT
  EXECUTE FUNCTION plumb_total_settled_weights();
CREATE TRIGGER rollups_settled_totals_update AFTER UPDATE ON rollups_settled
  REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT
  EXECUTE FUNCTION plumb_total_settled_weights();
CREATE TRIGGER rollups_settled_totals_delete AFTER DELETE ON rollups_settled
  REFERENCING OLD TABLE AS removed FOR EACH STATEMENT
  EXECUTE FUNCTION plumb_total_settled_weights();

INSERT INTO rollup_value_totals (site_id, dimension, value_id, weight)
SELECT site_id, dimension, value_id, sum(weight)
  FROM rollups_settled
 GROUP BY site_id, dimension, value_id;

-- Breakdowns no longer look for heavy daily rows (the totals above bound a value better), so the
-- settled table's by-weight index only slowed settling.
DROP INDEX rollups_settled_weight_idx;
