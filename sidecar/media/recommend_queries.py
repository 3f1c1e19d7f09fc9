"""Generic SQL of the recommendation steps and the read endpoint ({items}, {plays}, {vectors},
{picks}, {item_id}: the kind's tables)."""

ACTIVE_MODEL = "SELECT model, dimensions FROM embedding_models WHERE active"

# Every item with a vector for the model, removed ones included (they still tell taste). The vector
# comes in pgvector's binary form (vector_send), decoded for all rows at once by numpy.
CATALOG = """
SELECT m.id, m.title, m.year, m.genres, m.community_rating, m.removed_at IS NOT NULL AS removed,
       vector_send(e.embedding) AS embedding, x.collection_id
FROM {vectors} e
JOIN {items} m ON m.id = e.{item_id}
LEFT JOIN item_enrichment x ON x.items_table = '{items}' AND x.item_id = m.id AND x.status = 'enriched'
WHERE e.model = $1
ORDER BY m.id
"""

# Changes whenever a vector or an item row behind it changes: the cached catalogue is still valid
# while this stays the same (a few ms, against hundreds for reloading every vector).
CATALOG_FINGERPRINT = """
SELECT count(*) AS items,
       md5(string_agg(
           e.{item_id} || ':' || e.content_hash || ':' || e.created_at::text || ':' || m.updated_at::text
           || ':' || coalesce(m.removed_at::text, '-'),
           ',' ORDER BY e.{item_id})) AS digest
FROM {vectors} e
JOIN {items} m ON m.id = e.{item_id}
WHERE e.model = $1
"""

# Every user's plays in one query, column by column: each user's taste and the co-watching across all.
PLAYS = """
SELECT user_id,
       array_agg({play_item_id}) AS item_ids,
       array_agg(play_count) AS play_counts,
       array_agg(is_favorite) AS favourite,
       array_agg(user_rating) AS user_ratings,
       array_agg(extract(epoch FROM last_played_at)::float8) AS last_played,
       array_agg(played OR play_count > 0) AS watched
FROM {plays}
WHERE played OR play_count > 0 OR is_favorite OR position_ticks > 0
GROUP BY user_id
"""

ENABLED_USERS = """
SELECT id, name, max_recommendations
FROM media_users
WHERE {enabled} AND NOT is_disabled AND removed_at IS NULL
  AND ($1::text[] IS NULL OR id = ANY($1::text[]))
ORDER BY name, id
"""

CURRENT_LISTS = """
SELECT user_id, array_agg({item_id} ORDER BY rank) AS item_ids
FROM {picks}
WHERE $1::text[] IS NULL OR user_id = ANY($1::text[])
GROUP BY user_id
"""

# A removed item leaves the lists a run covers ($1 = those users, null = everyone) at once.
DELETE_REMOVED_ITEMS = """
DELETE FROM {picks} r
USING {items} m
WHERE m.id = r.{item_id} AND m.removed_at IS NOT NULL
  AND ($1::text[] IS NULL OR r.user_id = ANY($1::text[]))
"""

DELETE_ALL = "DELETE FROM {picks}"

# A batch of users' new lists replaces their old ones (one transaction).
DELETE_USER_LISTS = "DELETE FROM {picks} WHERE user_id = ANY($1::text[])"

# $3: a JSON array of rows [user_id, item_id, rank, score, breakdown, evidence, explanation].
INSERT_USER_LISTS = """
INSERT INTO {picks}
    (user_id, {item_id}, rank, score, breakdown, evidence, explanation, run_id, generated_at)
SELECT r->>0, r->>1, (r->>2)::int, (r->>3)::real, r->4, r->5, r->>6, $1, $2
FROM jsonb_array_elements($3::jsonb) AS r
"""

# The read endpoint: a user's list joined with the items, best first.
USER_LIST = """
SELECT r.rank, r.score, r.breakdown, r.evidence, r.explanation, r.generated_at,
       m.id, m.title, m.year, m.genres
FROM {picks} r
JOIN {items} m ON m.id = r.{item_id}
WHERE r.user_id = $1
ORDER BY r.rank
"""

# What the server shows each restricted user of a kind (users without a row see everything). $1 kind.
VISIBLE_ITEMS = "SELECT user_id, item_ids FROM user_visible_items WHERE media_type = $1"
