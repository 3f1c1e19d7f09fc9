"""Named SQL of storing the server's users (sidecar/media/users.py)."""

# One statement for every user (2,000 users: one round trip). New users get both switches from the
# setting; known users keep theirs. Returns the users that were inserted or changed.
UPSERT_USERS = """
WITH listed AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::boolean[], $4::boolean[], $6::timestamptz[],
                         $7::jsonb[])
        AS l (id, name, is_admin, is_disabled, last_activity_at, access)
)
INSERT INTO media_users AS u (id, name, is_admin, is_disabled, enabled, series_enabled, last_activity_at,
                              access)
SELECT id, name, is_admin, is_disabled, $5, $5, last_activity_at, access FROM listed
ON CONFLICT (id) DO UPDATE SET
    name = EXCLUDED.name, is_admin = EXCLUDED.is_admin, is_disabled = EXCLUDED.is_disabled,
    last_activity_at = coalesce(EXCLUDED.last_activity_at, u.last_activity_at),
    access = EXCLUDED.access, removed_at = NULL, updated_at = now()
WHERE (u.name, u.is_admin, u.is_disabled, u.last_activity_at, u.access)
      IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.is_admin, EXCLUDED.is_disabled,
                        coalesce(EXCLUDED.last_activity_at, u.last_activity_at), EXCLUDED.access)
   OR u.removed_at IS NOT NULL
RETURNING id, (xmax = 0) AS inserted
"""

MARK_USERS_REMOVED = """
UPDATE media_users SET removed_at = now(), updated_at = now()
WHERE removed_at IS NULL AND NOT (id = ANY($1::text[]))
RETURNING id, name
"""
