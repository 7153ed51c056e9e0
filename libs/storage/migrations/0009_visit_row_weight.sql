-- A settled row's weight bounds its visitors and its visits (0008, docs/ROLLUPS.md). On visit rows
-- (dimensions 20 and up) each visitor and each exit or entry comes with a visit of that row, so
-- their visits alone bound both; their pageviews and events are those of the whole visits, and
-- counting them made the bound several times too loose to skip the long tail of exit pages.
-- Event rows keep pageviews + events (they hold no visits). One function, so that the reader's
-- bound of rows not settled yet is the same expression.
CREATE FUNCTION plumb_rollup_weight(dimension smallint, pageviews bigint, events bigint,
                                    visits bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN dimension >= 20 THEN visits ELSE pageviews + events END;

-- A rewrite of the table; the totals' triggers do not fire for it, so the totals are summed again.
ALTER TABLE rollups_settled DROP COLUMN weight;
ALTER TABLE rollups_settled
  ADD COLUMN weight bigint GENERATED ALWAYS AS
    (plumb_rollup_weight(dimension, pageviews, events, visits)) STORED;
DELETE FROM rollup_value_totals;
INSERT INTO rollup_value_totals (site_id, dimension, value_id, weight)
SELECT site_id, dimension, value_id, sum(weight)
  FROM rollups_settled
 GROUP BY site_id, dimension, value_id;
