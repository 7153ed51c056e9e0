-- Per-site choice to drop hits from browsers that send DNT: 1 or Sec-GPC: 1. Off by default:
-- Plumb counts such visitors anonymously like everyone else, as its hashes identify no one.
-- Published to collectors in the site map ("dnt": true).
ALTER TABLE sites ADD COLUMN ignore_do_not_track boolean NOT NULL DEFAULT false;
