"""SQL of sync-movie-watch-history: users, then each user's plays in one COPY + upsert."""

from __future__ import annotations

UPSERT_USERS = """
INSERT INTO media_users AS u (id, name, is_admin, is_disabled, enabled)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (id) DO UPDATE SET
    name = EXCLUDED.name, is_admin = EXCLUDED.is_admin, is_disabled = EXCLUDED.is_disabled,
    removed_at = NULL, updated_at = now()
WHERE (u.name, u.is_admin, u.is_disabled) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.is_admin, EXCLUDED.is_disabled)
   OR u.removed_at IS NOT NULL
"""

MARK_USERS_REMOVED = """
UPDATE media_users SET removed_at = now(), updated_at = now()
WHERE removed_at IS NULL AND NOT (id = ANY($1::text[]))
RETURNING id
"""

USERS_TO_PROCESS = """
SELECT id, name, history_synced_at FROM media_users
WHERE enabled AND NOT is_disabled AND removed_at IS NULL
  AND ($1::text[] IS NULL OR id = ANY($1::text[]))
ORDER BY name, id
"""

SKIPPED_USERS = """
SELECT id, name, is_disabled, enabled, removed_at IS NOT NULL AS removed FROM media_users
WHERE (NOT enabled OR is_disabled OR removed_at IS NOT NULL) AND ($1::text[] IS NULL OR id = ANY($1::text[]))
"""

MOVIE_IDS = "SELECT id FROM movies"

# The movie a watch event is about: the item itself when it is a movie row, else the movie with the same
# provider ids (the event came from an AI Picks copy, whose NFO carries the original's uniqueids).
# Present movies before removed ones; TMDb before IMDb.
MOVIE_FOR_WATCH_EVENT = """
SELECT id FROM (
    SELECT id, 0 AS preference, removed_at FROM movies WHERE id = $1
    UNION ALL
    SELECT id, 1, removed_at FROM movies WHERE $2::text IS NOT NULL AND tmdb_id = $2
    UNION ALL
    SELECT id, 2, removed_at FROM movies WHERE $3::text IS NOT NULL AND imdb_id = $3
) AS candidates
ORDER BY preference = 0 DESC, removed_at IS NOT NULL, preference, id
LIMIT 1
"""

PLAY_COLUMNS = (
    "user_id", "movie_id", "played", "play_count", "last_played_at", "is_favorite", "user_rating",
    "position_ticks",
)  # fmt: skip

CREATE_INCOMING = """
CREATE TEMP TABLE plays_incoming (
    user_id text, movie_id text, played boolean, play_count integer, last_played_at timestamptz,
    is_favorite boolean, user_rating real, position_ticks bigint
) ON COMMIT DROP
"""

# Each write below returns the user of every row it changed: those users' picks may change, so the
# job asks for their recommendations next (an unchanged row is not written and not returned).
UPSERT_INCOMING = """
WITH written AS (
INSERT INTO movie_plays AS p (user_id, movie_id, played, play_count, last_played_at, is_favorite,
                              user_rating, position_ticks)
SELECT user_id, movie_id, played, play_count, last_played_at, is_favorite, user_rating, position_ticks
FROM plays_incoming
ON CONFLICT (user_id, movie_id) DO UPDATE SET
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
UPDATE movie_plays p SET is_favorite = false, updated_at = now()
WHERE p.user_id = ANY($1::text[]) AND p.is_favorite
  AND NOT EXISTS (SELECT 1 FROM plays_incoming i
                  WHERE i.user_id = p.user_id AND i.movie_id = p.movie_id AND i.is_favorite)
RETURNING user_id
)
SELECT DISTINCT user_id FROM cleared
"""

# Full sync: the server's played + favourite lists are the whole truth for these users.
DELETE_OTHER_PLAYS = """
DELETE FROM movie_plays p
WHERE p.user_id = ANY($1::text[])
  AND NOT EXISTS (SELECT 1 FROM plays_incoming i WHERE i.user_id = p.user_id AND i.movie_id = p.movie_id)
RETURNING user_id
"""

DELETE_PLAYS = """
DELETE FROM movie_plays
WHERE (user_id, movie_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
RETURNING user_id
"""

SET_WATERMARKS = """
UPDATE media_users u SET history_synced_at = w.at
FROM unnest($1::text[], $2::timestamptz[]) AS w (id, at)
WHERE u.id = w.id
"""

# Everything these jobs write can be fetched from the media server again, and the watermark commits
# in the same transaction as the rows: a crash losing the last commits only means a re-fetch. So
# commits need not wait for the WAL flush (the database stays consistent either way).
RELAXED_COMMIT = "SET LOCAL synchronous_commit = off"
