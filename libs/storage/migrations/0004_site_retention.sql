-- Per-site data retention, in days; NULL keeps data forever (the default, so upgrading deletes
-- nothing). Data minimisation (GDPR art. 5(1)(c) and (e)): a site owner can decide that raw events
-- and hourly rollups older than this serve no purpose and must go. storage::apply_retention
-- enforces it; the dashboard edits it. The lower bound keeps a typo from wiping a month of
-- reports (and leaves the collector's redelivery window far behind the cutoff); the upper bound
-- (100 years) keeps "now - retention" representable and means "forever, but explicit".
ALTER TABLE sites ADD COLUMN retention_days integer
  CHECK (retention_days IS NULL OR retention_days BETWEEN 30 AND 36500);
