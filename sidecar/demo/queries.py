"""SQL of the demo: emptying its own database, and finding the users whose libraries it shows."""

# Every table but the migration record; the demo's database is its own (never a configured URL).
EMPTY_ALL_TABLES = """
DO $$
DECLARE table_list text;
BEGIN
    SELECT string_agg(format('%I.%I', schemaname, tablename), ', ') INTO table_list
    FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations';
    IF table_list IS NOT NULL THEN
        EXECUTE 'TRUNCATE ' || table_list || ' RESTART IDENTITY CASCADE';
    END IF;
END $$
"""

# Users with a library folder, with their pick and play counts (the demo's user: most picks, fewest plays).
USER_LIBRARIES = """
SELECT u.id, u.name, l.folder_path, l.library_item_id,
       (SELECT count(*) FROM movie_recommendations r WHERE r.user_id = u.id) AS picks,
       (SELECT count(*) FROM movie_plays p WHERE p.user_id = u.id AND p.played) AS played
FROM user_libraries l
JOIN media_users u ON u.id = l.user_id
WHERE l.media_type = 'movies'
ORDER BY picks DESC, played ASC, u.name
"""

# The runs the demo's webhooks were planned into (the demo's database holds only its own events),
# of the events received since $1 (null: all of them).
PLANNED_RUN_IDS = """
SELECT r.id AS run_id FROM job_runs r
WHERE r.id IN (SELECT unnest(planned_run_ids) FROM webhook_events
               WHERE $1::timestamptz IS NULL OR received_at >= $1)
ORDER BY r.seq
"""

DATABASE_NOW = "SELECT clock_timestamp() AS now"

# Users with series picks, most picks first, then those who started most shows (picks with reasons).
SERIES_PICK_USERS = """
SELECT u.id, u.name, count(*) AS picks,
       (SELECT count(*) FROM series_user_state s WHERE s.user_id = u.id) AS started
FROM series_recommendations r
JOIN media_users u ON u.id = r.user_id
GROUP BY u.id, u.name
ORDER BY picks DESC, started DESC, u.name
"""

# The shows picked for these users (their episodes get placeholder files before the library run).
SERIES_PICKED = "SELECT DISTINCT series_id FROM series_recommendations WHERE user_id = ANY($1::text[])"

SERIES_FOLDERS = """
SELECT user_id, folder_path FROM user_libraries WHERE media_type = 'series' AND user_id = ANY($1::text[])
"""

SERIES_LIBRARY_ITEM = """
SELECT library_item_id FROM user_libraries WHERE media_type = 'series' AND user_id = $1
"""
