-- Each value's settled weight from the start of a local month on: a bound of its visitors and
-- visits in any range starting in that month, which stays close to what the value did in a short
-- range of a long history, where the all-time totals (0008) are many times too high to skip
-- anything (docs/ROLLUPS.md, libs/stats/src/rollup_reader.cpp).
--
-- One row per site × dimension × value × month in which the value has settled weight:
-- `month_weight` is that month's, `weight` that month's and every later month's. Months without
-- weight have no row, so a range starting in month m is bounded by the value's first row from m
-- on. Indexed by weight per month, so a breakdown lists each month's heaviest values in order.
CREATE TABLE rollup_value_totals_since (
  site_id      bigint   NOT NULL,
  dimension    smallint NOT NULL,
  value_id     bigint   NOT NULL,
  since        date     NOT NULL,  -- first day of the local month
  month_weight bigint   NOT NULL,
  weight       bigint   NOT NULL,
  PRIMARY KEY (site_id, dimension, value_id, since)
);
CREATE INDEX rollup_value_totals_since_weight_idx
  ON rollup_value_totals_since (site_id, dimension, since, weight DESC) INCLUDE (value_id);
SELECT plumb_protect_site_data('rollup_value_totals_since');

-- The totals' triggers (0008) now keep both tables, in that order: the all-time upsert locks each
-- changed value's row first, so two transactions changing one value's months run one after the
-- other and each reads the other's committed rows (statements of a plpgsql function take a new
-- snapshot under READ COMMITTED; under REPEATABLE READ the second fails on that row instead).
-- Without that, a statement could sum a value's months while another transaction's change to
-- them is not committed yet, and write totals that leave that change out: too low.
CREATE OR REPLACE FUNCTION plumb_total_settled_weights() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  added_rows   constant text :=
    'SELECT site_id, dimension, value_id, date_trunc(''month'', bucket)::date, weight FROM added';
  removed_rows constant text :=
    'SELECT site_id, dimension, value_id, date_trunc(''month'', bucket)::date, -weight FROM removed';
  changes text;
BEGIN
  -- Each event has only its own transition tables, hence the statement text per event.
  changes := '(' || CASE TG_OP WHEN 'INSERT' THEN added_rows
                               WHEN 'UPDATE' THEN added_rows || ' UNION ALL ' || removed_rows
                               ELSE removed_rows END
             || ') c (site_id, dimension, value_id, since, change)';
  EXECUTE 'INSERT INTO public.rollup_value_totals AS t (site_id, dimension, value_id, weight)'
    ' SELECT site_id, dimension, value_id, sum(change) FROM ' || changes
    || ' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3'
       ' ON CONFLICT (site_id, dimension, value_id) DO UPDATE SET weight = t.weight + excluded.weight';
  -- One statement: the changed values' month rows are read once, by the primary key's prefix
  -- (the transition tables have no statistics; looked up one month at a time, the planner took
  -- the by-weight index, a scan of the site's whole dimension per month, which made a bulk load's
  -- settling several times slower), their months' new weights summed from each month on, and
  -- written by row id: a month the value had no row for gets one, a month left without weight
  -- loses its row.
  EXECUTE 'WITH c AS (SELECT site_id, dimension, value_id, since, sum(change) AS change FROM '
    || changes || ' GROUP BY 1, 2, 3, 4),'
       ' r AS (SELECT e.ctid AS row_id, e.site_id, e.dimension, e.value_id, e.since,'
       '         e.month_weight, e.weight FROM public.rollup_value_totals_since e'
       '         JOIN (SELECT DISTINCT site_id, dimension, value_id FROM c) v'
       '           ON e.site_id = v.site_id AND e.dimension = v.dimension AND e.value_id = v.value_id),'
       ' m AS (SELECT coalesce(r.site_id, c.site_id) AS site_id,'
       '         coalesce(r.dimension, c.dimension) AS dimension,'
       '         coalesce(r.value_id, c.value_id) AS value_id, coalesce(r.since, c.since) AS since,'
       '         r.row_id, r.month_weight AS old_month_weight, r.weight AS old_weight,'
       '         coalesce(r.month_weight, 0) + coalesce(c.change, 0) AS month_weight'
       '         FROM r FULL JOIN c ON r.site_id = c.site_id AND r.dimension = c.dimension'
       '           AND r.value_id = c.value_id AND r.since = c.since),'
       ' s AS (SELECT m.*, sum(month_weight) OVER (PARTITION BY site_id, dimension, value_id'
       '         ORDER BY since DESC) AS weight FROM m),'
       ' updated AS (UPDATE public.rollup_value_totals_since t'
       '   SET month_weight = s.month_weight, weight = s.weight FROM s'
       '   WHERE t.ctid = s.row_id AND s.month_weight <> 0'
       '     AND (s.month_weight, s.weight) <> (s.old_month_weight, s.old_weight)),'
       ' emptied AS (DELETE FROM public.rollup_value_totals_since t USING s'
       '   WHERE t.ctid = s.row_id AND s.month_weight = 0)'
       ' INSERT INTO public.rollup_value_totals_since'
       '   (site_id, dimension, value_id, since, month_weight, weight)'
       ' SELECT site_id, dimension, value_id, since, month_weight, weight FROM s'
       ' WHERE row_id IS NULL AND month_weight <> 0 ORDER BY 1, 2, 3, 4';
  RETURN NULL;
END $$;

-- No settling may commit between the sums below and this migration's commit: its triggers would
-- still run the function above as it was and its rows would be missing from the new totals.
LOCK TABLE rollups_settled IN SHARE MODE;
INSERT INTO rollup_value_totals_since (site_id, dimension, value_id, since, month_weight, weight)
SELECT site_id, dimension, value_id, since, month_weight,
       sum(month_weight) OVER (PARTITION BY site_id, dimension, value_id ORDER BY since DESC)
  FROM (SELECT site_id, dimension, value_id, date_trunc('month', bucket)::date AS since,
               sum(weight) AS month_weight
          FROM rollups_settled
         GROUP BY 1, 2, 3, 4) m
 WHERE month_weight <> 0;
