-- The webhook planner looks an announced episode up by its TMDb / IMDb id (is it a copy in one of the
-- sidecar's libraries, of an episode the sync holds?), once per ItemAdded of a library scan: indexed,
-- as for movies and series, so a scan's burst of announcements is not a burst of sequential scans.
CREATE INDEX IF NOT EXISTS episodes_tmdb ON episodes (tmdb_id) WHERE tmdb_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS episodes_imdb ON episodes (imdb_id) WHERE imdb_id IS NOT NULL;

-- Episodes count their changes too (sql/120_change_counters.sql): the watch-history step keeps every
-- episode's provider ids (to find the originals of copies) while this counter stays the same.
DROP TRIGGER IF EXISTS episodes_changed ON episodes;
CREATE TRIGGER episodes_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON episodes
    FOR EACH STATEMENT EXECUTE FUNCTION bump_change_counter();
