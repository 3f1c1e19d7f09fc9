"""SQL for item vectors and the embedding-model registry.

`{items}`, `{vectors}` and `{item_id}` are a media kind's tables (sidecar.media.tables.KindTables).
"""

from __future__ import annotations

# $1 model, $2 item ids (NULL = every item): non-removed items without a current vector for the model.
SELECT_IDS_TO_EMBED = """
SELECT m.id
FROM {items} m
LEFT JOIN {vectors} e ON e.{item_id} = m.id AND e.model = $1
WHERE m.removed_at IS NULL
  AND ($2::text[] IS NULL OR m.id = ANY($2::text[]))
  AND (e.{item_id} IS NULL OR e.content_hash IS DISTINCT FROM m.content_hash)
ORDER BY m.id
"""

# $1 item ids (NULL = every item)
COUNT_ACTIVE_ITEMS = """
SELECT count(*) FROM {items}
WHERE removed_at IS NULL AND ($1::text[] IS NULL OR id = ANY($1::text[]))
"""

UPSERT_EMBEDDING = """
INSERT INTO {vectors} ({item_id}, model, dimensions, content_hash, embedding)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT ({item_id}, model) DO UPDATE
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

# $1 model: how many non-removed items of one kind it covers and how many it lacks.
MODEL_COVERAGE = """
SELECT count(*) AS total, count(*) FILTER (WHERE e.{item_id} IS NULL) AS missing
FROM {items} m
LEFT JOIN {vectors} e ON e.{item_id} = m.id AND e.model = $1
WHERE m.removed_at IS NULL
"""

DEACTIVATE_MODELS = "UPDATE embedding_models SET active = false WHERE active AND model <> $1"

ACTIVATE_MODEL = """
UPDATE embedding_models SET active = true, activated_at = now() WHERE model = $1 AND NOT active
"""

DELETE_OTHER_VECTORS = "DELETE FROM {vectors} WHERE model <> $1"

DELETE_OTHER_MODELS = "DELETE FROM embedding_models WHERE model <> $1"

COUNT_VECTORS = "SELECT count(*) FROM {vectors} WHERE model = $1"
