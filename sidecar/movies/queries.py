"""The SQL that is about movies: the row the sync writes, the embedding text's fields, the library
entries' metadata. Everything else the movie jobs run is generic (sidecar/media/*_queries.py)."""

# sync: COPY into `incoming` (columns in MovieRow order; json travels as text), then one upsert.
CREATE_INCOMING = """
CREATE TEMP TABLE incoming (
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
    path, image_tags, premiere_date, date_added, content_hash, sync_hash, text_hash
)
SELECT id, library_id, title, original_title, sort_title, year, overview, tagline, genres, studios,
       people::jsonb, tags, community_rating, critic_rating, official_rating, runtime_ticks,
       provider_ids::jsonb, tmdb_id, imdb_id, path, image_tags::jsonb, premiere_date, date_added,
       content_hash, sync_hash, content_hash
FROM incoming
ON CONFLICT (id) DO UPDATE SET
    library_id = EXCLUDED.library_id, title = EXCLUDED.title, original_title = EXCLUDED.original_title,
    sort_title = EXCLUDED.sort_title, year = EXCLUDED.year, overview = EXCLUDED.overview,
    tagline = EXCLUDED.tagline, genres = EXCLUDED.genres, studios = EXCLUDED.studios,
    people = EXCLUDED.people, tags = EXCLUDED.tags, community_rating = EXCLUDED.community_rating,
    critic_rating = EXCLUDED.critic_rating, official_rating = EXCLUDED.official_rating,
    runtime_ticks = EXCLUDED.runtime_ticks, provider_ids = EXCLUDED.provider_ids,
    tmdb_id = EXCLUDED.tmdb_id, imdb_id = EXCLUDED.imdb_id, path = EXCLUDED.path,
    image_tags = EXCLUDED.image_tags, premiere_date = EXCLUDED.premiere_date,
    date_added = EXCLUDED.date_added, content_hash = CASE WHEN m.text_hash = EXCLUDED.text_hash THEN m.content_hash
                        ELSE EXCLUDED.content_hash END,  -- an enriched hash survives (sql/130)
    text_hash = EXCLUDED.text_hash,
    sync_hash = EXCLUDED.sync_hash, removed_at = NULL, updated_at = now()
"""

# What the embedding text is made of, plus the hash the vector will be stamped with.
TEXT_FIELDS = """
SELECT m.id, m.title, m.original_title, m.year, m.tagline, m.overview, m.genres, m.studios, m.people,
       m.tags, m.content_hash, x.collection_name, x.keywords AS enriched_keywords, x.cast_names,
       x.directors, x.original_language
FROM movies m
LEFT JOIN item_enrichment x ON x.items_table = 'movies' AND x.item_id = m.id AND x.status = 'enriched'
WHERE m.id = ANY($1::text[]) AND m.removed_at IS NULL
ORDER BY m.id
"""

# One user's picks with what the NFO and the link need, best first.
LIBRARY_PICKS = """
SELECT r.movie_id, r.rank, r.explanation,
       m.title, m.year, m.original_title, m.overview, m.tagline, m.genres, m.studios,
       m.community_rating, m.critic_rating, m.official_rating, m.runtime_ticks,
       m.tmdb_id, m.imdb_id, m.provider_ids, m.premiere_date, m.path
FROM movie_recommendations r
JOIN movies m ON m.id = r.movie_id
WHERE r.user_id = $1 AND m.removed_at IS NULL
ORDER BY r.rank
"""
