"""SQL of sync-movies: one COPY into a temp table and one upsert per batch."""

from __future__ import annotations

# Order of the values in each row handed to COPY (json columns travel as text, cast on upsert).
INCOMING_COLUMNS = (
    "id", "library_id", "title", "original_title", "sort_title", "year", "overview", "tagline", "genres",
    "studios", "people", "tags", "community_rating", "critic_rating", "official_rating", "runtime_ticks",
    "provider_ids", "tmdb_id", "imdb_id", "path", "image_tags", "premiere_date", "date_added",
    "content_hash", "sync_hash",
)  # fmt: skip

CREATE_INCOMING = """
CREATE TEMP TABLE movies_incoming (
    id text, library_id text, title text, original_title text, sort_title text, year integer,
    overview text, tagline text, genres text[], studios text[], people text, tags text[],
    community_rating real, critic_rating real, official_rating text, runtime_ticks bigint,
    provider_ids text, tmdb_id text, imdb_id text, path text, image_tags text, premiere_date date,
    date_added timestamptz, content_hash text, sync_hash text
) ON COMMIT DROP
"""

UPSERT_INCOMING = """
INSERT INTO movies AS m (
    id, library_id, title, original_title, sort_title, year, overview, tagline, genres, studios, people,
    tags, community_rating, critic_rating, official_rating, runtime_ticks, provider_ids, tmdb_id, imdb_id,
    path, image_tags, premiere_date, date_added, content_hash, sync_hash
)
SELECT id, library_id, title, original_title, sort_title, year, overview, tagline, genres, studios,
       people::jsonb, tags, community_rating, critic_rating, official_rating, runtime_ticks,
       provider_ids::jsonb, tmdb_id, imdb_id, path, image_tags::jsonb, premiere_date, date_added,
       content_hash, sync_hash
FROM movies_incoming
ON CONFLICT (id) DO UPDATE SET
    library_id = EXCLUDED.library_id, title = EXCLUDED.title, original_title = EXCLUDED.original_title,
    sort_title = EXCLUDED.sort_title, year = EXCLUDED.year, overview = EXCLUDED.overview,
    tagline = EXCLUDED.tagline, genres = EXCLUDED.genres, studios = EXCLUDED.studios,
    people = EXCLUDED.people, tags = EXCLUDED.tags, community_rating = EXCLUDED.community_rating,
    critic_rating = EXCLUDED.critic_rating, official_rating = EXCLUDED.official_rating,
    runtime_ticks = EXCLUDED.runtime_ticks, provider_ids = EXCLUDED.provider_ids,
    tmdb_id = EXCLUDED.tmdb_id, imdb_id = EXCLUDED.imdb_id, path = EXCLUDED.path,
    image_tags = EXCLUDED.image_tags, premiere_date = EXCLUDED.premiere_date,
    date_added = EXCLUDED.date_added, content_hash = EXCLUDED.content_hash,
    sync_hash = EXCLUDED.sync_hash, removed_at = NULL, updated_at = now()
"""

EXISTING_MOVIES = "SELECT id, content_hash, sync_hash, removed_at IS NOT NULL AS removed FROM movies"

EXISTING_MOVIES_BY_ID = """
SELECT id, content_hash, sync_hash, removed_at IS NOT NULL AS removed FROM movies WHERE id = ANY($1::text[])
"""

MARK_REMOVED = """
UPDATE movies SET removed_at = now(), updated_at = now()
WHERE id = ANY($1::text[]) AND removed_at IS NULL
RETURNING id
"""

# Everything these jobs write can be fetched from the media server again, and the watermark commits
# in the same transaction as the rows: a crash losing the last commits only means a re-fetch. So
# commits need not wait for the WAL flush (the database stays consistent either way).
RELAXED_COMMIT = "SET LOCAL synchronous_commit = off"
