"""Named SQL of sync-users and the users API."""

from __future__ import annotations

# Disabled or deleted on the server and not cleaned up since (libraries_removed_at is reset when
# they come back), or still holding a library.
INACTIVE_USERS = """
SELECT u.id, u.name FROM media_users u
WHERE (u.is_disabled OR u.removed_at IS NOT NULL)
  AND (u.libraries_removed_at IS NULL OR EXISTS (SELECT 1 FROM user_libraries l WHERE l.user_id = u.id))
ORDER BY u.name, u.id
"""

USER_LIBRARIES = """
SELECT media_type, folder_path, library_id, library_name FROM user_libraries WHERE user_id = $1
"""

DELETE_USER_LIBRARY = "DELETE FROM user_libraries WHERE user_id = $1 AND media_type = $2"

DELETE_PICKS = "DELETE FROM {picks} WHERE user_id = $1"  # per kind: kind.sql()

MARK_LIBRARIES_REMOVED = "UPDATE media_users SET libraries_removed_at = now() WHERE id = $1"

# Back on the server and enabled here, after their libraries were removed: they get them back.
RETURNED_USERS = """
UPDATE media_users SET libraries_removed_at = NULL
WHERE libraries_removed_at IS NOT NULL AND NOT is_disabled AND removed_at IS NULL
RETURNING *
"""


# --- the users API ------------------------------------------------------------------------------------
# Per kind (kind.sql() fills the tables; `$K` becomes the kind's name, a code constant).
KIND_COLUMNS = """
       u.{enabled} AS "$K_enabled",
       (SELECT count(*) FROM {plays} p WHERE p.user_id = u.id) AS "$K_plays",
       (SELECT count(*) FROM {picks} p WHERE p.user_id = u.id) AS "$K_picks",
       (SELECT to_jsonb(l) FROM (SELECT library_name, library_id, entries, last_synced_at
            FROM user_libraries WHERE user_id = u.id AND media_type = '$K') l) AS "$K_library"
"""

USER_COLUMNS = (
    "u.id, u.name, u.is_admin, u.is_disabled, u.removed_at, u.last_activity_at, u.created_at, "
    "u.enabled, u.series_enabled"
)

# $1 status filter (null | active | disabled | removed), $2 name search; paged by offset.
USER_FILTER = """
WHERE ($1::text IS NULL
       OR ($1 = 'active' AND NOT u.is_disabled AND u.removed_at IS NULL)
       OR ($1 = 'disabled' AND u.is_disabled AND u.removed_at IS NULL)
       OR ($1 = 'removed' AND u.removed_at IS NOT NULL))
  AND ($2::text IS NULL OR u.name ILIKE '%' || $2 || '%')
"""

LIST_USERS = (
    "SELECT {columns} FROM media_users u " + USER_FILTER + " ORDER BY lower(u.name), u.id LIMIT $3 OFFSET $4"
)

COUNT_USERS = "SELECT count(*) FROM media_users u " + USER_FILTER

GET_USER = "SELECT {columns} FROM media_users u WHERE u.id = $1"

# $2/$3: new values or null (unchanged).
SET_SWITCHES = """
UPDATE media_users SET enabled = coalesce($2, enabled), series_enabled = coalesce($3, series_enabled),
    updated_at = now()
WHERE id = $1
RETURNING id
"""
