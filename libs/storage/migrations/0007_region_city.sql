-- Region and city of each visit (dimensions 37 and 38, events/dimension.hpp), from a city GeoIP
-- database (docs/GEOIP.md). Everything stored before this change has them unknown (""), in the
-- raw events and in the rollups alike, so the raw-event and rollup readers keep agreeing.
--
-- Deploy workers built with this migration: an older worker's COPY does not fill the new NOT NULL
-- columns and its batches fail (they stay in the stream, nothing is lost) until it is replaced.

-- "" is a dictionary value like any other; most sites have it already (direct traffic).
INSERT INTO dimension_values (site_id, value) SELECT id, '' FROM sites
ON CONFLICT (site_id, value) DO NOTHING;

ALTER TABLE events ADD COLUMN region_id bigint, ADD COLUMN city_id bigint;
UPDATE events e SET region_id = v.id, city_id = v.id
FROM dimension_values v WHERE v.site_id = e.site_id AND v.value = '';
ALTER TABLE events ALTER COLUMN region_id SET NOT NULL, ALTER COLUMN city_id SET NOT NULL;

-- Every visit counts once on the rows of each visit dimension, so the unknown region and city of
-- a bucket hold what all of its country rows hold together (counters summed, sketches united).
-- Visits still open when workers switch over unpack their old visit state as "" too, and move
-- between exactly these rows. Both rollup tables (0006): rows of settled days too.
INSERT INTO rollups (site_id, dimension, bucket, value_id, pageviews, events, visits, bounces,
                     duration_ms, visitors)
SELECT r.site_id, d.dimension, r.bucket, v.id, sum(r.pageviews), sum(r.events), sum(r.visits),
       sum(r.bounces), sum(r.duration_ms), hll_union_agg(r.visitors)
FROM rollups r
JOIN dimension_values v ON v.site_id = r.site_id AND v.value = ''
CROSS JOIN (VALUES (37::smallint), (38::smallint)) AS d (dimension)
WHERE r.dimension = 30  -- country
GROUP BY r.site_id, d.dimension, r.bucket, v.id;

INSERT INTO rollups_settled (site_id, dimension, bucket, value_id, pageviews, events, visits,
                             bounces, duration_ms, visitors)
SELECT r.site_id, d.dimension, r.bucket, v.id, sum(r.pageviews), sum(r.events), sum(r.visits),
       sum(r.bounces), sum(r.duration_ms), hll_union_agg(r.visitors)
FROM rollups_settled r
JOIN dimension_values v ON v.site_id = r.site_id AND v.value = ''
CROSS JOIN (VALUES (37::smallint), (38::smallint)) AS d (dimension)
WHERE r.dimension = 30  -- country
GROUP BY r.site_id, d.dimension, r.bucket, v.id;
