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
-- Without that, a month inserted next to a concurrent change could start from a stale later
-- month and be too low.
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
  -- A month the value had no weight in starts as what its later months hold.
  IF TG_OP <> 'DELETE' THEN
    EXECUTE 'INSERT INTO public.rollup_value_totals_since AS t'
      ' (site_id, dimension, value_id, since, month_weight, weight)'
      ' SELECT n.site_id, n.dimension, n.value_id, n.since, 0, coalesce('
      '   (SELECT l.weight FROM public.rollup_value_totals_since l WHERE l.site_id = n.site_id'
      '     AND l.dimension = n.dimension AND l.value_id = n.value_id AND l.since > n.since'
      '     ORDER BY l.since LIMIT 1), 0)'
      ' FROM (SELECT DISTINCT site_id, dimension, value_id, since FROM ' || changes || ') n'
      ' ORDER BY 1, 2, 3, 4 ON CONFLICT DO NOTHING';
  END IF;
  -- Each change adds to its own month and to every earlier month of the value (summed per month
  -- first: a value's days of one month are one change).
  EXECUTE 'UPDATE public.rollup_value_totals_since t'
    ' SET month_weight = t.month_weight + d.own, weight = t.weight + d.later FROM ('
    '  SELECT e.site_id, e.dimension, e.value_id, e.since,'
    '         coalesce(sum(c.change) FILTER (WHERE c.since = e.since), 0) AS own,'
    '         sum(c.change) AS later'
    '    FROM public.rollup_value_totals_since e JOIN'
    '     (SELECT site_id, dimension, value_id, since, sum(change) AS change FROM ' || changes
    || '      GROUP BY 1, 2, 3, 4) c'
       '     ON c.site_id = e.site_id AND c.dimension = e.dimension AND c.value_id = e.value_id'
       '    AND c.since >= e.since GROUP BY 1, 2, 3, 4) d'
       ' WHERE t.site_id = d.site_id AND t.dimension = d.dimension AND t.value_id = d.value_id'
       '   AND t.since = d.since';
  -- A month left without weight bounds nothing its later months do not.
  EXECUTE 'DELETE FROM public.rollup_value_totals_since t USING'
    ' (SELECT DISTINCT site_id, dimension, value_id, since FROM ' || changes || ') n'
    ' WHERE t.site_id = n.site_id AND t.dimension = n.dimension AND t.value_id = n.value_id'
    '   AND t.since = n.since AND t.month_weight = 0';
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
