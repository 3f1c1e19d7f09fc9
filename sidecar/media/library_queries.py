"""Generic SQL of the libraries step. `media_type` is the kind's name (a parameter); `{picks}` and
`{item_id}` are the kind's tables. Folder names are per user, shared by all their libraries."""

# Users to process: enabled ones, plus anyone who already has a library (to empty it when they are
# no longer enabled). $1 = user ids or null (all); $2 = item ids or null: users whose picks hold them;
# $3 = the kind.
USERS_TO_SYNC = """
SELECT u.id, u.name,
       (u.{enabled} AND NOT u.is_disabled AND u.removed_at IS NULL) AS active,
       l.folder_name, l.library_id, l.created_at AS library_created_at
FROM media_users u
LEFT JOIN user_libraries l ON l.user_id = u.id AND l.media_type = $3
WHERE ((u.{enabled} AND NOT u.is_disabled AND u.removed_at IS NULL) OR l.user_id IS NOT NULL)
  AND ($1::text[] IS NULL OR u.id = ANY($1::text[]))
  AND ($2::text[] IS NULL OR EXISTS (
        SELECT 1 FROM {picks} r WHERE r.user_id = u.id AND r.{item_id} = ANY($2::text[])))
ORDER BY u.id
"""

# Every user's folder (all users, all kinds), so a new name never collides and a user keeps one name.
USER_FOLDERS = "SELECT user_id, folder_name FROM user_folders"

# Reserves the user's folder name (once, for all kinds) and this kind's library row before anything
# is written; returns the dateadded anchor. $1 user, $2 folder name, $3 folder path, $4 kind.
RESERVE_FOLDER = """
WITH folder AS (
    INSERT INTO user_folders (user_id, folder_name) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING
)
INSERT INTO user_libraries (user_id, media_type, folder_name, folder_path)
VALUES ($1, $4, $2, $3)
ON CONFLICT (user_id, media_type) DO UPDATE SET folder_path = EXCLUDED.folder_path, updated_at = now()
RETURNING created_at
"""

RECORD_SYNC = """
UPDATE user_libraries
SET manifest_hash = $2, entries = $3, last_synced_at = now(), updated_at = now()
WHERE user_id = $1 AND media_type = $4
"""

RECORD_SERVER_LIBRARY = """
UPDATE user_libraries
SET library_name = $2, library_id = $3, library_item_id = $4, library_guid = $5, server_path = $6,
    updated_at = now()
WHERE user_id = $1 AND media_type = $7
"""

# Every AI library we know of (all kinds: nobody may see another user's), for the visibility pass.
SERVER_LIBRARIES = """
SELECT user_id, media_type, library_id, library_guid FROM user_libraries WHERE library_id IS NOT NULL
"""

# The ids the server gave our libraries (any of its three), so a sync never reads one as a source
# even when its folder and name no longer look like ours (renamed, or another mount path).
OWN_LIBRARY_IDS = """
SELECT unnest(array_remove(ARRAY[library_id, library_item_id, library_guid], NULL)) AS id
FROM user_libraries
"""

# What the server shows a restricted user of this kind (no row: no restriction). $1 user, $2 kind.
VISIBLE_ITEMS = "SELECT item_ids FROM user_visible_items WHERE user_id = $1 AND media_type = $2"
