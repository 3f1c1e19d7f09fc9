"""SQL for movie vectors and the embedding-model registry."""

from __future__ import annotations

# $1 model, $2 item ids (NULL = every movie): non-removed movies without a current vector for the model.
SELECT_MOVIE_IDS_TO_EMBED = """
SELECT m.id
FROM movies m
LEFT JOIN movie_embeddings e ON e.movie_id = m.id AND e.model = $1
WHERE m.removed_at IS NULL
  AND ($2::text[] IS NULL OR m.id = ANY($2::text[]))
  AND (e.movie_id IS NULL OR e.content_hash IS DISTINCT FROM m.content_hash)
ORDER BY m.id
"""

# $1 item ids (NULL = every movie)
COUNT_ACTIVE_MOVIES = """
SELECT count(*) FROM movies
WHERE removed_at IS NULL AND ($1::text[] IS NULL OR id = ANY($1::text[]))
"""

# What the embedding text is made of, plus the hash the vector will be stamped with.
SELECT_MOVIES_FOR_TEXT = """
SELECT id, title, original_title, year, tagline, overview, genres, studios, people, tags, content_hash
FROM movies
WHERE id = ANY($1::text[]) AND removed_at IS NULL
ORDER BY id
"""

UPSERT_EMBEDDING = """
INSERT INTO movie_embeddings (movie_id, model, dimensions, content_hash, embedding)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (movie_id, model) DO UPDATE
SET dimensions = EXCLUDED.dimensions,
    content_hash = EXCLUDED.content_hash,
    embedding = EXCLUDED.embedding,
    created_at = now()
"""

REGISTER_MODEL = """
INSERT INTO embedding_models (model, dimensions) VALUES ($1, $2)
ON CONFLICT (model) DO NOTHING
"""

SELECT_MODEL_DIMENSIONS = "SELECT dimensions FROM embedding_models WHERE model = $1"

SELECT_ACTIVE_MODEL = "SELECT model, dimensions FROM embedding_models WHERE active"

SELECT_OTHER_MODELS = "SELECT model, dimensions FROM embedding_models WHERE model <> $1"

# $1 model: how many non-removed movies it covers and how many it lacks.
MODEL_COVERAGE = """
SELECT count(*) AS total, count(*) FILTER (WHERE e.movie_id IS NULL) AS missing
FROM movies m
LEFT JOIN movie_embeddings e ON e.movie_id = m.id AND e.model = $1
WHERE m.removed_at IS NULL
"""

DEACTIVATE_MODELS = "UPDATE embedding_models SET active = false WHERE active AND model <> $1"

ACTIVATE_MODEL = """
UPDATE embedding_models SET active = true, activated_at = now() WHERE model = $1 AND NOT active
"""

DELETE_OTHER_VECTORS = "DELETE FROM movie_embeddings WHERE model <> $1"

DELETE_OTHER_MODELS = "DELETE FROM embedding_models WHERE model <> $1"

COUNT_VECTORS = "SELECT count(*) FROM movie_embeddings WHERE model = $1"
