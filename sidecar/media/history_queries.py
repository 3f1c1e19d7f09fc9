"""Generic SQL of the watch-history step: each user's plays in one COPY + upsert.

`{plays}`, `{played}` and `{play_item_id}` are the kind's (KindTables); `$kind` parameters its name.
"""

from __future__ import annotations

# $1 user ids or null (all), $2 the kind: with each user's watermark for that kind.
USERS_TO_PROCESS = """
SELECT u.id, u.name, u.access, w.synced_at AS history_synced_at FROM media_users u
LEFT JOIN watch_history_watermarks w ON w.user_id = u.id AND w.kind = $2
WHERE u.{enabled} AND NOT u.is_disabled AND u.removed_at IS NULL
  AND ($1::text[] IS NULL OR u.id = ANY($1::text[]))
ORDER BY u.name, u.id
"""

SKIPPED_USERS = """
SELECT id, name, is_disabled, {enabled} AS enabled, removed_at IS NOT NULL AS removed FROM media_users
WHERE (NOT {enabled} OR is_disabled OR removed_at IS NOT NULL) AND ($1::text[] IS NULL OR id = ANY($1::text[]))
"""

# Every catalogue id, with the provider ids that find the original of a copy in an AI Picks library.
ITEM_IDS = "SELECT id, tmdb_id, imdb_id FROM {played}"

# The ids picks are made of (what visibility is checked against), when plays are of other rows.
CATALOGUE_IDS = "SELECT id FROM {items}"

# The item a watch event is about: the event's item itself when it is a row, else the item with the
# same provider ids (the event came from an AI Picks copy, whose NFO carries the original's uniqueids).
# Present items before removed ones; TMDb before IMDb. $1 item id, $2 TMDb id, $3 IMDb id.
ORIGINAL_ITEM = """
SELECT id FROM (
    SELECT id, 0 AS preference, removed_at FROM {played} WHERE id = $1
    UNION ALL
    SELECT id, 1, removed_at FROM {played} WHERE $2::text IS NOT NULL AND tmdb_id = $2
    UNION ALL
    SELECT id, 2, removed_at FROM {played} WHERE $3::text IS NOT NULL AND imdb_id = $3
) AS candidates
ORDER BY preference = 0 DESC, removed_at IS NOT NULL, preference, id
LIMIT 1
"""

PLAY_COLUMNS = (
    "user_id", "item_id", "played", "play_count", "last_played_at", "is_favorite", "user_rating",
    "position_ticks",
)  # fmt: skip

CREATE_INCOMING = """
CREATE TEMP TABLE plays_incoming (
    user_id text, item_id text, played boolean, play_count integer, last_played_at timestamptz,
    is_favorite boolean, user_rating real, position_ticks bigint
) ON COMMIT DROP
"""

# Each write below returns the user of every row it changed: those users' picks may change, so the
# job asks for their recommendations next (an unchanged row is not written and not returned).
UPSERT_INCOMING = """
WITH written AS (
INSERT INTO {plays} AS p (user_id, {play_item_id}, played, play_count, last_played_at, is_favorite,
                          user_rating, position_ticks)
SELECT user_id, item_id, played, play_count, last_played_at, is_favorite, user_rating, position_ticks
FROM plays_incoming
ON CONFLICT (user_id, {play_item_id}) DO UPDATE SET
    played = EXCLUDED.played, play_count = EXCLUDED.play_count, last_played_at = EXCLUDED.last_played_at,
    is_favorite = EXCLUDED.is_favorite, user_rating = EXCLUDED.user_rating,
    position_ticks = EXCLUDED.position_ticks, updated_at = now()
WHERE (p.played, p.play_count, p.last_played_at, p.is_favorite, p.user_rating, p.position_ticks)
      IS DISTINCT FROM (EXCLUDED.played, EXCLUDED.play_count, EXCLUDED.last_played_at, EXCLUDED.is_favorite,
                        EXCLUDED.user_rating, EXCLUDED.position_ticks)
RETURNING user_id
)
SELECT DISTINCT user_id FROM written  -- one row per user, not per play (100,000 on a first run)
"""

# Regular sync re-reads the favourites list: for those users, a favourite not in this batch's rows is
# no favourite any more.
CLEAR_OTHER_FAVOURITES = """
WITH cleared AS (
UPDATE {plays} p SET is_favorite = false, updated_at = now()
WHERE p.user_id = ANY($1::text[]) AND p.is_favorite
  AND NOT EXISTS (SELECT 1 FROM plays_incoming i
                  WHERE i.user_id = p.user_id AND i.item_id = p.{play_item_id} AND i.is_favorite)
RETURNING user_id
)
SELECT DISTINCT user_id FROM cleared
"""

# Full sync: the server's played + favourite lists are the whole truth for these users.
DELETE_OTHER_PLAYS = """
DELETE FROM {plays} p
WHERE p.user_id = ANY($1::text[])
  AND NOT EXISTS (SELECT 1 FROM plays_incoming i WHERE i.user_id = p.user_id AND i.item_id = p.{play_item_id})
RETURNING user_id
"""

DELETE_PLAYS = """
DELETE FROM {plays}
WHERE (user_id, {play_item_id}) IN (SELECT * FROM unnest($1::text[], $2::text[]))
RETURNING user_id
"""

# $1 user ids, $2 their new watermarks, $3 the kind.
SET_WATERMARKS = """
INSERT INTO watch_history_watermarks (user_id, kind, synced_at)
SELECT w.id, $3, w.at FROM unnest($1::text[], $2::timestamptz[]) AS w (id, at)
ON CONFLICT (user_id, kind) DO UPDATE SET synced_at = EXCLUDED.synced_at
"""

# What the server shows a restricted user, replaced whole; returns whether it differs from before.
# $1 user, $2 kind, $3 the sorted ids.
SET_VISIBLE_ITEMS = """
WITH old AS (SELECT item_ids FROM user_visible_items WHERE user_id = $1 AND media_type = $2)
INSERT INTO user_visible_items (user_id, media_type, item_ids) VALUES ($1, $2, $3)
ON CONFLICT (user_id, media_type) DO UPDATE SET item_ids = EXCLUDED.item_ids, checked_at = now()
RETURNING (SELECT item_ids FROM old) IS DISTINCT FROM $3::text[] AS changed
"""

# Users no longer restricted see everything again. $1 user ids, $2 kind.
CLEAR_VISIBLE_ITEMS = """
DELETE FROM user_visible_items WHERE user_id = ANY($1::text[]) AND media_type = $2 RETURNING user_id
"""

# Recorded just before the sidecar marks an original played / favourite on the server
# (sidecar.media.copies), so the planner can tell that mark's webhook echo (webhooks.planner.OWN_MARK).
RECORD_OWN_MARK = """
INSERT INTO own_marks (user_id, item_id, played, favourite) VALUES ($1, $2, $3, $4)
ON CONFLICT (user_id, item_id) DO UPDATE SET
    played = own_marks.played OR EXCLUDED.played,
    favourite = own_marks.favourite OR EXCLUDED.favourite,
    marked_at = now()
"""
FORGET_OWN_MARK = "DELETE FROM own_marks WHERE user_id = $1 AND item_id = $2"
# Echoes arrive within seconds; a day-old record is only clutter.
PRUNE_OWN_MARKS = "DELETE FROM own_marks WHERE marked_at < now() - interval '1 day'"

# The kind's own items a user marked favourite (sql/095), replaced whole; returns whether it changed.
# $1 user, $2 kind, $3 the sorted ids.
SET_FAVOURITE_ITEMS = """
WITH old AS (SELECT item_ids FROM user_favourite_items WHERE user_id = $1 AND media_type = $2)
INSERT INTO user_favourite_items (user_id, media_type, item_ids) VALUES ($1, $2, $3)
ON CONFLICT (user_id, media_type) DO UPDATE SET item_ids = EXCLUDED.item_ids, checked_at = now()
RETURNING (SELECT item_ids FROM old) IS DISTINCT FROM $3::text[] AS changed
"""
