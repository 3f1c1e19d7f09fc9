"""Named SQL of the housekeeping job."""

PURGE_REMOVED_USERS = """
DELETE FROM media_users u
WHERE u.removed_at < $1 AND NOT EXISTS (SELECT 1 FROM user_libraries l WHERE l.user_id = u.id)
RETURNING id
"""

KNOWN_LIBRARY_FOLDERS = """
SELECT folder_path FROM user_libraries
UNION ALL SELECT folder_path FROM shared_libraries
"""

# The tables every run, webhook and sync writes to; vacuumed when they changed enough since the last
# (auto)vacuum or analyze. A fixed list: VACUUM takes no parameters, and no name comes from outside.
HOT_TABLES = (
    "job_runs",
    "job_run_logs",
    "webhook_events",
    "media_users",
    "movie_plays",
    "movie_recommendations",
)

TABLE_CHANGES = """
SELECT relname, n_live_tup, n_dead_tup, n_mod_since_analyze FROM pg_stat_user_tables
WHERE schemaname = 'public' AND relname = ANY($1::text[])
"""
