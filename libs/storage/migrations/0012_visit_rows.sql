-- One row per visit of each settled local day, for views that filter on several visit
-- properties (source and country, say) or break one down under a filter on another. Rollups
-- cannot answer those, and raw events answer them by grouping every event of the range by visit,
-- which is what a year of a busy site costs. A visit row holds what that grouping computes, so
-- such a view reads one row per visit instead (libs/stats/src/visit_reader.cpp,
-- docs/ROLLUPS.md "Visit rows").
--
-- storage::settle_rollups builds the rows of a local day whenever it settles rollup rows of that
-- day (the first time, and again after late events), from the day's events grouped by
-- plumb_visits_of(), the same grouping the raw-event reader does. `visit_days` marks the days
-- built and the zone their days were cut in; a day with rollup rows not settled yet (recent
-- days, late events) or without a mark in the site's current zone is read from raw events.

CREATE TABLE visits (
  site_id            bigint  NOT NULL,
  day                date    NOT NULL,  -- local day of the visit's start (its id's time)
  visit_id           uuid    NOT NULL,
  -- The visit's events' visitor hashes: the smallest, and the largest when they differ (a visit
  -- across midnight UTC has one per daily salt; one with three would be a day of activity).
  visitor_hash       bigint  NOT NULL,
  other_visitor_hash bigint,
  pageviews          integer NOT NULL,
  events             integer NOT NULL,  -- custom events
  bounce             boolean NOT NULL,
  duration_ms        bigint  NOT NULL,
  -- Dictionary ids of the visit's values, as the raw-event reader takes them: the opening
  -- event's (the one whose id is the visit's; NULL when it is missing), the last event's page,
  -- and for values from the address and user agent, the same on every event, the smallest.
  entry_page_id      bigint,
  exit_page_id       bigint  NOT NULL,
  source_id          bigint,
  referrer_id        bigint,
  channel_id         bigint,
  utm_source_id      bigint,
  utm_medium_id      bigint,
  utm_campaign_id    bigint,
  utm_term_id        bigint,
  utm_content_id     bigint,
  screen_id          bigint,
  country_id         bigint  NOT NULL,
  region_id          bigint  NOT NULL,
  city_id            bigint  NOT NULL,
  browser_id         bigint  NOT NULL,
  browser_version_id bigint  NOT NULL,
  os_id              bigint  NOT NULL,
  os_version_id      bigint  NOT NULL,
  device_id          bigint  NOT NULL,
  -- Day first: rows are added a day at a time, so a range of days is a range of the table's
  -- pages, which the planner sees (migration and settling insert in this order); a busy site's
  -- month reads those pages. A small site's year reads its own rows by visits_site_day_idx
  -- (below) instead of walking every site's year of keys.
  PRIMARY KEY (day, site_id, visit_id)
);
SELECT plumb_protect_site_data('visits');

CREATE TABLE visit_days (
  site_id  bigint NOT NULL,
  day      date   NOT NULL,
  timezone text   NOT NULL,  -- the site's zone when the day was built
  PRIMARY KEY (site_id, day)
);
SELECT plumb_protect_site_data('visit_days');

-- The visit rows of the visits that started in local days first_day..last_day of `zone`, from
-- raw events: the events of those days and one day after (visits end after 30 minutes without
-- an event), grouped by visit id. Visit ids are UUIDv7 of the opening event's receive time, so
-- "started in the range" is a range of ids. Kept equal to the grouping in
-- libs/stats/src/event_reader.cpp, which documents the rules.
CREATE FUNCTION plumb_visits_of(of_site bigint, first_day date, last_day date, zone text)
RETURNS SETOF visits
LANGUAGE sql STABLE AS $$
  SELECT of_site,
         ((timestamptz 'epoch' + ('x' || left(replace(e.visit_id::text, '-', ''), 12))::bit(48)::bigint
           * interval '1 millisecond') AT TIME ZONE zone)::date,
         e.visit_id,
         min(e.visitor_hash),
         nullif(max(e.visitor_hash), min(e.visitor_hash)),
         (count(*) FILTER (WHERE e.name_id = pv.id))::integer,
         (count(*) FILTER (WHERE e.name_id <> pv.id))::integer,
         count(*) FILTER (WHERE e.name_id = pv.id) = 1
           AND NOT coalesce(bool_or(e.name_id <> pv.id AND e.interactive), false),
         (extract(epoch FROM max(e.received_at) - min(e.received_at)) * 1000)::bigint,
         min(e.page_id) FILTER (WHERE e.event_id = e.visit_id),
         (array_agg(e.page_id ORDER BY e.received_at DESC, e.event_id DESC))[1],
         min(e.source_id) FILTER (WHERE e.event_id = e.visit_id),
         min(e.referrer_id) FILTER (WHERE e.event_id = e.visit_id),
         min(e.channel_id) FILTER (WHERE e.event_id = e.visit_id),
         min(e.utm_source_id) FILTER (WHERE e.event_id = e.visit_id),
         min(e.utm_medium_id) FILTER (WHERE e.event_id = e.visit_id),
         min(e.utm_campaign_id) FILTER (WHERE e.event_id = e.visit_id),
         min(e.utm_term_id) FILTER (WHERE e.event_id = e.visit_id),
         min(e.utm_content_id) FILTER (WHERE e.event_id = e.visit_id),
         min(e.screen_id) FILTER (WHERE e.event_id = e.visit_id),
         min(e.country_id), min(e.region_id), min(e.city_id), min(e.browser_id),
         min(e.browser_version_id), min(e.os_id), min(e.os_version_id), min(e.device_id)
    FROM (SELECT first_day::timestamp AT TIME ZONE zone AS lo,
                 (last_day + 1)::timestamp AT TIME ZONE zone AS hi) b
    JOIN LATERAL (SELECT (lpad(to_hex(floor(extract(epoch FROM b.lo) * 1000)::bigint), 12, '0')
                            || '00000000000000000000')::uuid AS lo,
                         (lpad(to_hex(floor(extract(epoch FROM b.hi) * 1000)::bigint), 12, '0')
                            || '00000000000000000000')::uuid AS hi) ids ON true
    LEFT JOIN dimension_values pv ON pv.site_id = of_site AND pv.value = 'pageview'
    JOIN events e ON e.site_id = of_site AND e.received_at >= b.lo
                 AND e.received_at < b.hi + interval '1 day'
                 AND e.visit_id >= ids.lo AND e.visit_id < ids.hi
   GROUP BY e.visit_id
$$;

-- Days settled before this migration.
INSERT INTO visits
SELECT v.*
  FROM sites s
  JOIN LATERAL (SELECT min(bucket)::date AS first_day, max(bucket)::date AS last_day
                  FROM rollups_settled WHERE site_id = s.id AND dimension = 0) d ON true
  JOIN LATERAL plumb_visits_of(s.id, d.first_day, d.last_day, s.timezone) v ON true
 WHERE d.first_day IS NOT NULL
 ORDER BY 2, 1;
CREATE INDEX visits_site_day_idx ON visits (site_id, day);
INSERT INTO visit_days (site_id, day, timezone)
SELECT r.site_id, r.bucket::date, s.timezone
  FROM rollups_settled r JOIN sites s ON s.id = r.site_id
 WHERE r.dimension = 0
   AND NOT EXISTS (SELECT 1 FROM rollups u
                    WHERE u.site_id = r.site_id AND u.dimension = 0 AND u.bucket = r.bucket);
