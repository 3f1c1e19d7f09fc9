"""Named SQL of refresh-top-picks, generic over a media kind (kind.sql() fills `{items}`, `{plays}`,
`{item_id}`, `{enabled}`)."""

# Per title: distinct viewers among the users enabled for this kind (not every server user: the
# product's mistake), each weighing 1 for a finished play and 1/2 for a started one, halved every
# $2 days since it was last played. Ties: community rating, then title. $1 window start,
# $3 minimum viewers, $4 the libraries a shared library may show titles of (null = any), $5 N.
# Every item column comes along: the kind's entry builder takes what it needs. float8, not numeric:
# extract() answers numeric, and numeric power() over 100,000 plays costs most of a second.
POPULAR = """
WITH views AS (
    SELECT p.{item_id} AS item_id,
           CASE WHEN p.played THEN 1.0 ELSE 0.5 END::float8
             * power(0.5::float8, extract(epoch FROM (now() - p.last_played_at))::float8 / 86400.0 / $2) AS weight
    FROM {plays} p
    JOIN media_users u ON u.id = p.user_id
    WHERE p.last_played_at >= $1 AND (p.played OR p.position_ticks > 0)
      AND u.{enabled} AND NOT u.is_disabled AND u.removed_at IS NULL
), ranked AS (
    SELECT item_id, count(*) AS viewers, sum(weight) AS score FROM views GROUP BY item_id HAVING count(*) >= $3
)
SELECT i.*, i.id AS {item_id}, r.viewers, r.score
FROM ranked r
JOIN {items} i ON i.id = r.item_id AND i.removed_at IS NULL AND i.path IS NOT NULL
WHERE $4::text[] IS NULL OR i.library_id = ANY($4::text[])
ORDER BY r.score DESC, i.community_rating DESC NULLS LAST, i.title, i.id
LIMIT $5
"""

# Who may see a kind's shared library: active users enabled for that kind.
ENABLED_USERS = "SELECT id FROM media_users WHERE {enabled} AND NOT is_disabled AND removed_at IS NULL"

GET_SHARED = """
SELECT name_key, folder_path, library_id, created_at FROM shared_libraries WHERE name_key = $1
"""

RESERVE_SHARED = """
INSERT INTO shared_libraries (name_key, media_type, folder_path) VALUES ($1, $2, $3)
ON CONFLICT (name_key) DO UPDATE SET folder_path = EXCLUDED.folder_path
RETURNING created_at
"""

RECORD_SHARED_SYNC = """
UPDATE shared_libraries SET manifest_hash = $2, entries = $3, last_synced_at = now() WHERE name_key = $1
"""

RECORD_SHARED_SERVER = """
UPDATE shared_libraries SET library_name = $2, library_id = $3, library_item_id = $4, library_guid = $5,
    server_path = $6
WHERE name_key = $1
"""

# AI libraries of users (hidden from everyone but their owner), by guid.
USER_LIBRARY_GUIDS = "SELECT user_id, library_guid FROM user_libraries WHERE library_guid IS NOT NULL"
