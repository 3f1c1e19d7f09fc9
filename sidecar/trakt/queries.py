"""The SQL of the Trakt link and import: accounts, pending device codes, the imported rows, and the
matching of imported rows to server items by provider id."""

SOURCE = "trakt"

# --- accounts and links ---------------------------------------------------------------------------------
USER_EXISTS = "SELECT 1 FROM media_users WHERE id = $1"

ACCOUNT = """
SELECT user_id, access_token, refresh_token, expires_at, linked_at, refreshed_at, activities,
       last_synced_at, last_error
FROM trakt_accounts WHERE user_id = $1
"""

DEVICE_CODE = """
SELECT user_id, device_code, user_code, verification_url, expires_at, interval_seconds, next_poll_at, state
FROM trakt_device_codes WHERE user_id = $1
"""

# A new link replaces any pending one. $1 user, $2 encrypted device code, $3 user code, $4 URL,
# $5 expiry, $6 interval, $7 first poll.
SAVE_DEVICE_CODE = """
INSERT INTO trakt_device_codes (user_id, device_code, user_code, verification_url, expires_at,
                                interval_seconds, next_poll_at, state)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending')
ON CONFLICT (user_id) DO UPDATE SET
    device_code = EXCLUDED.device_code, user_code = EXCLUDED.user_code,
    verification_url = EXCLUDED.verification_url, expires_at = EXCLUDED.expires_at,
    interval_seconds = EXCLUDED.interval_seconds, next_poll_at = EXCLUDED.next_poll_at,
    state = 'pending', created_at = now()
"""

# $1 user, $2 interval, $3 next poll, $4 state.
UPDATE_DEVICE_CODE = """
UPDATE trakt_device_codes SET interval_seconds = $2, next_poll_at = $3, state = $4 WHERE user_id = $1
"""

DELETE_DEVICE_CODE = "DELETE FROM trakt_device_codes WHERE user_id = $1"

# A granted link: both tokens (encrypted) at once. $1 user, $2 access, $3 refresh, $4 expiry.
SAVE_ACCOUNT = """
INSERT INTO trakt_accounts (user_id, access_token, refresh_token, expires_at)
VALUES ($1, $2, $3, $4)
ON CONFLICT (user_id) DO UPDATE SET
    access_token = EXCLUDED.access_token, refresh_token = EXCLUDED.refresh_token,
    expires_at = EXCLUDED.expires_at, linked_at = now(), refreshed_at = NULL, activities = NULL,
    last_error = NULL
"""

# A refresh rotates both tokens: one statement, so the new refresh token is never lost while the old
# one is already spent. $1 user, $2 access, $3 refresh, $4 expiry.
SAVE_REFRESHED = """
UPDATE trakt_accounts SET access_token = $2, refresh_token = $3, expires_at = $4, refreshed_at = now()
WHERE user_id = $1
"""

# Unlink: tokens and pending codes go; the imported rows go too (they came with the account).
DELETE_ACCOUNT = """
WITH codes AS (DELETE FROM trakt_device_codes WHERE user_id = $1),
     plays AS (DELETE FROM imported_plays WHERE user_id = $1 AND source = 'trakt'),
     ratings AS (DELETE FROM imported_ratings WHERE user_id = $1 AND source = 'trakt')
DELETE FROM trakt_accounts WHERE user_id = $1 RETURNING access_token
"""

# --- the import -------------------------------------------------------------------------------------------
# $1 user ids or null (all linked users).
LINKED_USERS = """
SELECT a.user_id, u.name, a.access_token, a.refresh_token, a.expires_at, a.activities
FROM trakt_accounts a JOIN media_users u ON u.id = a.user_id
WHERE u.removed_at IS NULL AND NOT u.is_disabled AND ($1::text[] IS NULL OR a.user_id = ANY($1::text[]))
ORDER BY u.name, a.user_id
"""

# $1 user, $2 activities (only after that user's rows were written), $3 error or null.
FINISH_USER = """
UPDATE trakt_accounts SET activities = coalesce($2, activities), last_synced_at = now(), last_error = $3
WHERE user_id = $1
"""

PLAY_COLUMNS = (
    "user_id",
    "source",
    "source_id",
    "item_table",
    "tmdb_id",
    "imdb_id",
    "tvdb_id",
    "season",
    "number",
    "watched_at",
)
RATING_COLUMNS = (
    "user_id",
    "source",
    "item_table",
    "source_key",
    "tmdb_id",
    "imdb_id",
    "tvdb_id",
    "season",
    "number",
    "rating",
    "rated_at",
)

CREATE_INCOMING = """
CREATE TEMP TABLE trakt_plays_incoming (LIKE imported_plays INCLUDING DEFAULTS) ON COMMIT DROP;
CREATE TEMP TABLE trakt_ratings_incoming (LIKE imported_ratings INCLUDING DEFAULTS) ON COMMIT DROP;
"""

# Keyed by the history id: an entry seen again changes nothing (de-duplicated), its match is kept.
UPSERT_PLAYS = """
INSERT INTO imported_plays AS p (user_id, source, source_id, item_table, tmdb_id, imdb_id, tvdb_id, season,
                                 number, watched_at)
SELECT DISTINCT ON (user_id, source, source_id)
       user_id, source, source_id, item_table, tmdb_id, imdb_id, tvdb_id, season, number, watched_at
FROM trakt_plays_incoming
ORDER BY user_id, source, source_id
ON CONFLICT (user_id, source, source_id) DO UPDATE SET
    item_table = EXCLUDED.item_table, tmdb_id = EXCLUDED.tmdb_id, imdb_id = EXCLUDED.imdb_id,
    tvdb_id = EXCLUDED.tvdb_id, season = EXCLUDED.season, number = EXCLUDED.number,
    watched_at = EXCLUDED.watched_at
WHERE (p.item_table, p.tmdb_id, p.imdb_id, p.tvdb_id, p.season, p.number, p.watched_at)
      IS DISTINCT FROM (EXCLUDED.item_table, EXCLUDED.tmdb_id, EXCLUDED.imdb_id, EXCLUDED.tvdb_id,
                        EXCLUDED.season, EXCLUDED.number, EXCLUDED.watched_at)
"""

# The history of these types was read whole: entries no longer on Trakt go. $1 user, $2 item tables.
DELETE_GONE_PLAYS = """
DELETE FROM imported_plays p
WHERE p.user_id = $1 AND p.source = 'trakt' AND p.item_table = ANY($2::text[])
  AND NOT EXISTS (SELECT 1 FROM trakt_plays_incoming i WHERE i.source_id = p.source_id)
"""

UPSERT_RATINGS = """
INSERT INTO imported_ratings AS r (user_id, source, item_table, source_key, tmdb_id, imdb_id, tvdb_id, season,
                                   number, rating, rated_at)
SELECT DISTINCT ON (user_id, source, item_table, source_key)
       user_id, source, item_table, source_key, tmdb_id, imdb_id, tvdb_id, season, number, rating, rated_at
FROM trakt_ratings_incoming
ORDER BY user_id, source, item_table, source_key, rated_at DESC
ON CONFLICT (user_id, source, item_table, source_key) DO UPDATE SET
    tmdb_id = EXCLUDED.tmdb_id, imdb_id = EXCLUDED.imdb_id, tvdb_id = EXCLUDED.tvdb_id,
    season = EXCLUDED.season, number = EXCLUDED.number, rating = EXCLUDED.rating, rated_at = EXCLUDED.rated_at
WHERE (r.tmdb_id, r.imdb_id, r.tvdb_id, r.season, r.number, r.rating, r.rated_at)
      IS DISTINCT FROM (EXCLUDED.tmdb_id, EXCLUDED.imdb_id, EXCLUDED.tvdb_id, EXCLUDED.season, EXCLUDED.number,
                        EXCLUDED.rating, EXCLUDED.rated_at)
"""

# Ratings of these types were read whole: one removed on Trakt goes here too. $1 user, $2 item tables.
DELETE_GONE_RATINGS = """
DELETE FROM imported_ratings r
WHERE r.user_id = $1 AND r.source = 'trakt' AND r.item_table = ANY($2::text[])
  AND NOT EXISTS (SELECT 1 FROM trakt_ratings_incoming i
                  WHERE i.item_table = r.item_table AND i.source_key = r.source_key)
"""

# --- matching imported rows to server items ---------------------------------------------------------------
# Movies by TMDb id, then IMDb id (Trakt's movie ids carry no TVDB id); a present movie before a
# removed one. `{table}` is imported_plays or imported_ratings; $1 user ids, $2 only unmatched rows.
MATCH_MOVIES = """
WITH candidates AS (
    SELECT p.ctid AS row, m.id, 0 AS preference, m.removed_at
    FROM {table} p JOIN movies m ON m.tmdb_id = p.tmdb_id
    WHERE p.item_table = 'movies' AND p.user_id = ANY($1::text[]) AND (NOT $2 OR p.item_id IS NULL)
    UNION ALL
    SELECT p.ctid, m.id, 1, m.removed_at
    FROM {table} p JOIN movies m ON m.imdb_id = p.imdb_id
    WHERE p.item_table = 'movies' AND p.user_id = ANY($1::text[]) AND (NOT $2 OR p.item_id IS NULL)
),
best AS (
    SELECT DISTINCT ON (row) row, id FROM candidates ORDER BY row, removed_at IS NOT NULL, preference, id
)
UPDATE {table} p SET item_id = b.id FROM best b WHERE p.ctid = b.row AND p.item_id IS DISTINCT FROM b.id
"""

# Shows by their own ids (TMDb, then TVDB, then IMDb), never by an episode's; an episode then by its
# show and (season, number), a double episode by the range it covers.
MATCH_SHOWS = """
WITH candidates AS (
    SELECT p.ctid AS row, s.id, 0 AS preference, s.removed_at
    FROM {table} p JOIN series s ON s.tmdb_id = p.tmdb_id
    WHERE p.item_table IN ('series', 'episodes') AND p.user_id = ANY($1::text[]) AND (NOT $2 OR p.item_id IS NULL)
    UNION ALL
    SELECT p.ctid, s.id, 1, s.removed_at
    FROM {table} p JOIN series s ON s.tvdb_id = p.tvdb_id
    WHERE p.item_table IN ('series', 'episodes') AND p.user_id = ANY($1::text[]) AND (NOT $2 OR p.item_id IS NULL)
    UNION ALL
    SELECT p.ctid, s.id, 2, s.removed_at
    FROM {table} p JOIN series s ON s.imdb_id = p.imdb_id
    WHERE p.item_table IN ('series', 'episodes') AND p.user_id = ANY($1::text[]) AND (NOT $2 OR p.item_id IS NULL)
),
shows AS (
    SELECT DISTINCT ON (row) row, id FROM candidates ORDER BY row, removed_at IS NOT NULL, preference, id
),
targets AS (
    SELECT s.row,
           CASE WHEN p.item_table = 'series' THEN s.id ELSE (
               SELECT e.id FROM episodes e
               WHERE e.series_id = s.id AND e.season_number = p.season
                 AND (e.episode_number = p.number
                      OR p.number BETWEEN e.episode_number AND e.episode_number_end)
               ORDER BY e.removed_at IS NOT NULL, e.episode_number = p.number DESC, e.id
               LIMIT 1)
           END AS id
    FROM shows s JOIN {table} p ON p.ctid = s.row
)
UPDATE {table} p SET item_id = t.id FROM targets t
WHERE p.ctid = t.row AND t.id IS NOT NULL AND p.item_id IS DISTINCT FROM t.id
"""

MATCHES = tuple(
    template.format(table=table)
    for table in ("imported_plays", "imported_ratings")
    for template in (MATCH_MOVIES, MATCH_SHOWS)
)

# What one user's import left: matched and unmatched rows (the run's result).
USER_COUNTS = """
SELECT (SELECT count(*) FROM imported_plays WHERE user_id = $1 AND source = 'trakt') AS plays,
       (SELECT count(*) FROM imported_plays WHERE user_id = $1 AND source = 'trakt' AND item_id IS NOT NULL)
           AS plays_matched,
       (SELECT count(*) FROM imported_ratings WHERE user_id = $1 AND source = 'trakt') AS ratings,
       (SELECT count(*) FROM imported_ratings WHERE user_id = $1 AND source = 'trakt' AND item_id IS NOT NULL)
           AS ratings_matched
"""
