"""Named SQL of `sync-movie-libraries`."""

MEDIA_TYPE = "movies"

# Users to process: enabled ones, plus anyone who already has a library (to empty it when they are
# no longer enabled). $1 = user ids or null (all); $2 = movie ids or null: users whose picks hold them.
USERS_TO_SYNC = """
SELECT u.id, u.name,
       (u.enabled AND NOT u.is_disabled AND u.removed_at IS NULL) AS active,
       l.folder_name, l.library_id, l.created_at AS library_created_at
FROM media_users u
LEFT JOIN user_libraries l ON l.user_id = u.id AND l.media_type = 'movies'
WHERE ((u.enabled AND NOT u.is_disabled AND u.removed_at IS NULL) OR l.user_id IS NOT NULL)
  AND ($1::text[] IS NULL OR u.id = ANY($1::text[]))
  AND ($2::text[] IS NULL OR EXISTS (
        SELECT 1 FROM movie_recommendations r WHERE r.user_id = u.id AND r.movie_id = ANY($2::text[])))
ORDER BY u.id
"""

# Every user's folder (all users, not just this run's), so a new name never collides.
LIBRARY_FOLDERS = "SELECT user_id, folder_name FROM user_libraries WHERE media_type = 'movies'"

USER_PICKS = """
SELECT r.movie_id, r.rank, r.explanation,
       m.title, m.year, m.original_title, m.overview, m.tagline, m.genres, m.studios,
       m.community_rating, m.critic_rating, m.official_rating, m.runtime_ticks,
       m.tmdb_id, m.imdb_id, m.provider_ids, m.premiere_date, m.path
FROM movie_recommendations r
JOIN movies m ON m.id = r.movie_id
WHERE r.user_id = $1 AND m.removed_at IS NULL
ORDER BY r.rank
"""

# Reserves the folder name before anything is written; returns the dateadded anchor.
RESERVE_FOLDER = """
INSERT INTO user_libraries (user_id, media_type, folder_name, folder_path)
VALUES ($1, 'movies', $2, $3)
ON CONFLICT (user_id, media_type) DO UPDATE SET folder_path = EXCLUDED.folder_path, updated_at = now()
RETURNING created_at
"""

RECORD_SYNC = """
UPDATE user_libraries
SET manifest_hash = $2, entries = $3, last_synced_at = now(), updated_at = now()
WHERE user_id = $1 AND media_type = 'movies'
"""

RECORD_SERVER_LIBRARY = """
UPDATE user_libraries
SET library_name = $2, library_id = $3, library_item_id = $4, library_guid = $5, server_path = $6,
    updated_at = now()
WHERE user_id = $1 AND media_type = 'movies'
"""

# Every AI library we know of, for the visibility pass.
SERVER_LIBRARIES = """
SELECT user_id, library_id, library_guid FROM user_libraries
WHERE media_type = 'movies' AND library_id IS NOT NULL
"""
