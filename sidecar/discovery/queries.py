"""SQL of the discovery job and its API (sql/105_discovery.sql). `{items}`, `{picks}`, `{item_id}`: a
media kind's tables (sidecar.media.tables.KindTables)."""

# --- TMDb answers shared by every user (cache) ---------------------------------------------------------
# $1 media type, $2 TMDb ids, $3 max age in seconds.
FRESH_SEED_LISTS = """
SELECT tmdb_id, status, recommended_ids, similar_ids
FROM discovery_seed_lists
WHERE media_type = $1 AND tmdb_id = ANY($2::int[]) AND fetched_at > now() - make_interval(secs => $3)
"""

UPSERT_SEED_LIST = """
INSERT INTO discovery_seed_lists (media_type, tmdb_id, status, recommended_ids, similar_ids, fetched_at)
VALUES ($1, $2, $3, $4, $5, now())
ON CONFLICT (media_type, tmdb_id) DO UPDATE
SET status = EXCLUDED.status, recommended_ids = EXCLUDED.recommended_ids, similar_ids = EXCLUDED.similar_ids,
    fetched_at = EXCLUDED.fetched_at
"""

UPSERT_TITLE = """
INSERT INTO discovery_titles (media_type, tmdb_id, title, original_title, year, overview, genres, popularity,
                              vote_average, vote_count, poster_path, original_language, adult, content_hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
ON CONFLICT (media_type, tmdb_id) DO UPDATE
SET title = EXCLUDED.title, original_title = EXCLUDED.original_title, year = EXCLUDED.year,
    overview = EXCLUDED.overview, genres = EXCLUDED.genres, popularity = EXCLUDED.popularity,
    vote_average = EXCLUDED.vote_average, vote_count = EXCLUDED.vote_count,
    poster_path = EXCLUDED.poster_path, original_language = EXCLUDED.original_language,
    adult = EXCLUDED.adult, content_hash = EXCLUDED.content_hash, updated_at = now()
WHERE discovery_titles.content_hash IS DISTINCT FROM EXCLUDED.content_hash
   OR discovery_titles.popularity IS DISTINCT FROM EXCLUDED.popularity
"""

# $1 media type, $2 TMDb ids
TITLES = """
SELECT tmdb_id, title, year, genres, overview, popularity, adult, content_hash, certification, certified_at
FROM discovery_titles
WHERE media_type = $1 AND tmdb_id = ANY($2::int[])
"""

SET_CERTIFICATION = """
UPDATE discovery_titles SET certification = $3, certified_at = now()
WHERE media_type = $1 AND tmdb_id = $2
"""

# $1 media type, $2 model, $3 TMDb ids: the stored vectors still made from the title's present text.
VECTORS = """
SELECT v.tmdb_id, vector_send(v.embedding) AS embedding
FROM discovery_embeddings v
JOIN discovery_titles t ON t.media_type = v.media_type AND t.tmdb_id = v.tmdb_id
WHERE v.media_type = $1 AND v.model = $2 AND v.tmdb_id = ANY($3::int[]) AND v.content_hash = t.content_hash
"""

UPSERT_VECTOR = """
INSERT INTO discovery_embeddings (media_type, tmdb_id, model, content_hash, embedding)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (media_type, tmdb_id, model) DO UPDATE
SET content_hash = EXCLUDED.content_hash, embedding = EXCLUDED.embedding, created_at = now()
"""

# A model switch leaves the old model's vectors useless: dropped when a run uses another one.
DELETE_OTHER_MODELS = "DELETE FROM discovery_embeddings WHERE model <> $1"

# $1 source ('imdb' | 'tvdb'), $2 media type, $3 external ids, $4 max age in seconds (a miss is asked
# again after that; a hit is kept).
RESOLVED_IDS = """
SELECT external_id, tmdb_id
FROM discovery_external_ids
WHERE source = $1 AND media_type = $2 AND external_id = ANY($3::text[])
  AND (tmdb_id IS NOT NULL OR fetched_at > now() - make_interval(secs => $4))
"""

UPSERT_RESOLVED_ID = """
INSERT INTO discovery_external_ids (source, external_id, media_type, tmdb_id, fetched_at)
VALUES ($1, $2, $3, $4, now())
ON CONFLICT (source, external_id, media_type) DO UPDATE
SET tmdb_id = EXCLUDED.tmdb_id, fetched_at = EXCLUDED.fetched_at
"""

# --- the server's side --------------------------------------------------------------------------------
# Every item of the kind with its provider ids (removed ones too: a user's plays may name them).
SERVER_IDS = """
SELECT id, title, removed_at IS NULL AS present,
       nullif(coalesce(tmdb_id, provider_ids->>'tmdb'), '') AS tmdb,
       nullif(lower(coalesce(imdb_id, provider_ids->>'imdb')), '') AS imdb,
       nullif(provider_ids->>'tvdb', '') AS tvdb
FROM {items}
"""

HAS_ITEMS = "SELECT EXISTS (SELECT 1 FROM {items} WHERE removed_at IS NULL)"

ENABLED_USERS = """
SELECT id, name, access
FROM media_users
WHERE {enabled} AND NOT is_disabled AND removed_at IS NULL
ORDER BY name, id
"""

# The head of every user's AI Picks ($1 ranks).
TOP_PICKS = """
SELECT user_id, {item_id} AS item_id
FROM {picks}
WHERE rank <= $1
ORDER BY user_id, rank
"""

# The official ratings of the items the server shows each restricted user ($1 kind name): what their
# parental limit lets through, said by the server itself (no rating scale copied here).
VISIBLE_RATINGS = """
SELECT v.user_id, array_agg(DISTINCT upper(trim(m.official_rating))) AS ratings
FROM user_visible_items v
CROSS JOIN LATERAL unnest(v.item_ids) AS visible(id)
JOIN {items} m ON m.id = visible.id
WHERE v.media_type = $1 AND coalesce(trim(m.official_rating), '') <> ''
GROUP BY v.user_id
"""

# --- suggestions ----------------------------------------------------------------------------------------
DELETE_USER_SUGGESTIONS = "DELETE FROM discovery_suggestions WHERE user_id = $1 AND kind = $2"

INSERT_USER_SUGGESTIONS = """
INSERT INTO discovery_suggestions
    (user_id, kind, tmdb_id, rank, score, breakdown, seeds, reason, run_id, generated_at)
SELECT $1, $2, s.tmdb_id, s.rank, s.score, s.breakdown::jsonb, s.seeds::jsonb, s.reason, $3, now()
FROM unnest($4::int[], $5::int[], $6::real[], $7::text[], $8::text[], $9::text[])
    AS s(tmdb_id, rank, score, breakdown, seeds, reason)
"""

# Users no longer enabled for a kind (or gone) keep no suggestions of it. $1 kind, $2 enabled user ids.
DELETE_OTHER_USERS = "DELETE FROM discovery_suggestions WHERE kind = $1 AND NOT (user_id = ANY($2::text[]))"

# The read endpoint: one user's suggestions of a kind with the title, and the latest request of each.
USER_SUGGESTIONS = """
SELECT s.kind, s.tmdb_id, s.rank, s.score, s.breakdown, s.seeds, s.reason, s.generated_at,
       t.title, t.original_title, t.year, t.overview, t.genres, t.popularity, t.vote_average,
       t.vote_count, t.poster_path, t.original_language, t.certification,
       r.status AS request_status, r.requested_at, r.seerr_status
FROM discovery_suggestions s
JOIN discovery_titles t ON t.media_type = $3 AND t.tmdb_id = s.tmdb_id
LEFT JOIN LATERAL (
    SELECT status, requested_at, seerr_status FROM discovery_requests q
    WHERE q.kind = s.kind AND q.tmdb_id = s.tmdb_id ORDER BY q.requested_at DESC LIMIT 1
) r ON true
WHERE s.user_id = $1 AND s.kind = $2
ORDER BY s.rank
"""

SUGGESTION = """
SELECT s.tmdb_id, t.title FROM discovery_suggestions s
JOIN discovery_titles t ON t.media_type = $4 AND t.tmdb_id = s.tmdb_id
WHERE s.user_id = $1 AND s.kind = $2 AND s.tmdb_id = $3
"""

ACTIVE_REQUEST = """
SELECT id, requested_at, seerr_request_id, seerr_status FROM discovery_requests
WHERE kind = $1 AND tmdb_id = $2 AND status = 'requested'
ORDER BY requested_at DESC LIMIT 1
"""

INSERT_REQUEST = """
INSERT INTO discovery_requests
    (user_id, kind, tmdb_id, title, seasons, status, seerr_request_id, seerr_status, error)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING id, user_id, kind, tmdb_id, title, seasons, status, seerr_request_id, seerr_status, error,
          requested_at
"""
