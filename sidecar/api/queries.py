"""Named SQL the API reads directly (the job system's lives in sidecar.jobs.queries)."""

USER_EXISTS = "SELECT EXISTS (SELECT 1 FROM media_users WHERE id = $1)"

USER_NAME = "SELECT name FROM media_users WHERE id = $1"

# Whether the user's picks of a kind are written as their AI library (the admin's "is it on the server").
USER_LIBRARY = """
SELECT entries, last_synced_at, library_id IS NOT NULL AS registered
FROM user_libraries WHERE user_id = $1 AND media_type = $2
"""
