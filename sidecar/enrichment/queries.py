"""SQL of the enrich-metadata job. `{items}` is a media kind's items table (KindTables.items), which
also keys its rows in `item_enrichment` (sql/100_enrichment.sql)."""

from __future__ import annotations

# The id an item is looked up by: its TMDb id, else its IMDb id, else its TVDB id (a server item
# matched by another provider). A changed id means a re-match on the server: enrich it again.
_SOURCE = """
SELECT i.id, i.tmdb_id, i.imdb_id,
       (SELECT value FROM jsonb_each_text(CASE WHEN jsonb_typeof(i.provider_ids) = 'object'
                                               THEN i.provider_ids END)
        WHERE lower(key) = 'tvdb' LIMIT 1) AS tvdb_id
FROM {items} i
WHERE i.removed_at IS NULL
"""

# $1 job version, $2 OMDb on. Items never enriched, of an older version, re-matched, or not found
# and due again; with OMDb on, enriched items that lack (or are due for) their OMDb part.
DUE = f"""
WITH src AS (
    SELECT s.*,
           CASE WHEN s.tmdb_id ~ '^[1-9][0-9]*$' AND length(s.tmdb_id) < 10 THEN 'tmdb:' || s.tmdb_id
                WHEN s.imdb_id ~ '^tt[0-9]+$' THEN 'imdb:' || s.imdb_id
                WHEN s.tvdb_id ~ '^[1-9][0-9]*$' AND length(s.tvdb_id) < 10 THEN 'tvdb:' || s.tvdb_id
           END AS source_key
    FROM ({_SOURCE}) s
), due AS (
    SELECT src.*, x.data_hash, x.status, x.imdb_id AS known_imdb_id,
           (x.item_id IS NULL OR x.version < $1 OR x.source_key <> src.source_key
            OR (x.status = 'not_found' AND x.retry_at <= now())) AS needs_tmdb,
           ($2 AND x.status = 'enriched' AND x.version >= $1 AND x.source_key = src.source_key
            AND (x.omdb_status IS NULL OR (x.omdb_status = 'not_found' AND x.omdb_retry_at <= now())))
               AS needs_omdb
    FROM src
    LEFT JOIN item_enrichment x ON x.items_table = '{{items}}' AND x.item_id = src.id
    WHERE src.source_key IS NOT NULL
)
SELECT * FROM due WHERE needs_tmdb OR needs_omdb ORDER BY id
"""

# $1 items table, $2 item id, $3 source key, $4 version, $5..$18 the TMDb fields and their hash,
# $19 whether that hash differs from the stored one. One statement: the answer stored and, when the
# fields changed, the item's content_hash renewed (the embeddings job re-embeds items whose vector
# was made from another hash) and its updated_at (cached catalogues reload).
SAVE_ENRICHED = """
WITH saved AS (
    INSERT INTO item_enrichment AS x (
        items_table, item_id, source_key, version, status, retry_at, tmdb_id, imdb_id, tvdb_id,
        collection_id, collection_name, original_language, certification, keywords, cast_names,
        directors, writers, created_by, networks, data_hash, enriched_at, updated_at
    ) VALUES ($1, $2, $3, $4, 'enriched', NULL, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
              $17, $18, now(), now())
    ON CONFLICT (items_table, item_id) DO UPDATE SET
        source_key = EXCLUDED.source_key, version = EXCLUDED.version, status = 'enriched', retry_at = NULL,
        tmdb_id = EXCLUDED.tmdb_id, imdb_id = EXCLUDED.imdb_id, tvdb_id = EXCLUDED.tvdb_id,
        collection_id = EXCLUDED.collection_id, collection_name = EXCLUDED.collection_name,
        original_language = EXCLUDED.original_language, certification = EXCLUDED.certification,
        keywords = EXCLUDED.keywords, cast_names = EXCLUDED.cast_names, directors = EXCLUDED.directors,
        writers = EXCLUDED.writers, created_by = EXCLUDED.created_by, networks = EXCLUDED.networks,
        data_hash = EXCLUDED.data_hash, enriched_at = now(), updated_at = now()
    RETURNING item_id
)
UPDATE {items} SET content_hash = md5(content_hash || ':enriched:' || $18), updated_at = now()
WHERE id = (SELECT item_id FROM saved) AND $19
"""

# $1 items table, $2 item id, $3 source key, $4 version, $5 days until the next try. The fields of an
# earlier answer stay (a title TMDb dropped keeps what it had).
UPSERT_NOT_FOUND = """
INSERT INTO item_enrichment AS x (items_table, item_id, source_key, version, status, retry_at, updated_at)
VALUES ($1, $2, $3, $4, 'not_found', now() + make_interval(days => $5), now())
ON CONFLICT (items_table, item_id) DO UPDATE SET
    source_key = EXCLUDED.source_key, version = EXCLUDED.version, status = 'not_found',
    retry_at = EXCLUDED.retry_at, updated_at = now()
"""

# $1 items table, $2 item id, $3 status, $4 days until a not-found is asked again, $5.. OMDb fields.
UPDATE_OMDB = """
UPDATE item_enrichment SET
    omdb_status = $3,
    omdb_retry_at = CASE WHEN $3 = 'not_found' THEN now() + make_interval(days => $4) END,
    rotten_tomatoes = coalesce($5, rotten_tomatoes), metacritic = coalesce($6, metacritic),
    imdb_rating = coalesce($7, imdb_rating), awards = coalesce($8, awards),
    omdb_enriched_at = CASE WHEN $3 = 'enriched' THEN now() ELSE omdb_enriched_at END, updated_at = now()
WHERE items_table = $1 AND item_id = $2
"""

# OMDb's budget for the UTC day: $1 service, $2 limit. Returns the new count, or no row when spent.
RESERVE_REQUEST = """
INSERT INTO service_usage AS u (service, day, requests) VALUES ($1, (now() AT TIME ZONE 'UTC')::date, 1)
ON CONFLICT (service, day) DO UPDATE SET requests = u.requests + 1
WHERE u.requests < $2 AND NOT u.spent
RETURNING requests
"""

# The service said its quota is spent before our count did (another install shares the key).
MARK_SPENT = """
INSERT INTO service_usage AS u (service, day, requests, spent)
VALUES ($1, (now() AT TIME ZONE 'UTC')::date, 0, true)
ON CONFLICT (service, day) DO UPDATE SET spent = true
"""

USED_TODAY = """
SELECT requests, spent FROM service_usage WHERE service = $1 AND day = (now() AT TIME ZONE 'UTC')::date
"""
