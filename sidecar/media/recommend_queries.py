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

# How often each table a run reads has changed (sql/120_change_counters.sql): one row per table that
# has changed at all; a cached catalogue or run is still valid while its tables' counters stay the same.
CHANGE_COUNTERS = """
SELECT name, sum(bumps)::bigint AS bumps, count(*)::int AS log_rows
FROM change_counters
GROUP BY name
"""

# Folds the appended rows back to one per table, in one statement (every sum stays the same).
COMPACT_CHANGE_COUNTERS = """
WITH gone AS (DELETE FROM change_counters RETURNING name, bumps)
INSERT INTO change_counters (name, bumps)
SELECT name, sum(bumps) FROM gone GROUP BY name
"""

# The tables every kind's catalogue reads besides its own items and vectors (ACTIVE_MODEL, CATALOG).
CATALOGUE_SHARED_TABLES = ("embedding_models", "item_enrichment")

# The kind's plays as the recommender sees them: the server's rows merged with plays and ratings
# imported from outside services (`imported_plays`/`imported_ratings`, told apart by `source`, e.g.
# Trakt). Played if either says so (an imported rating means the title was seen), the larger play
# count (a user who scrobbles to Trakt from this server has each play on both sides), the later date,
# and the server's rating before an imported one: a rating made on the server always wins.
# `{user_filter}` is replaced by a condition on `user_id` (or `true`) before the kind's tables.
MERGED_PLAYS = """
(SELECT coalesce(p.user_id, i.user_id) AS user_id,
        coalesce(p.{play_item_id}, i.item_id) AS {play_item_id},
        coalesce(p.played, false) OR i.item_id IS NOT NULL AS played,
        greatest(coalesce(p.play_count, 0), coalesce(i.plays, 0)) AS play_count,
        greatest(p.last_played_at, i.last_played_at) AS last_played_at,
        coalesce(p.is_favorite, false) AS is_favorite,
        coalesce(p.user_rating, i.rating) AS user_rating,
        coalesce(p.position_ticks, 0) AS position_ticks
 FROM (SELECT * FROM {plays} WHERE {user_filter}) AS p
 FULL JOIN (
     SELECT user_id, item_id, sum(plays)::int AS plays, max(last_played_at) AS last_played_at,
            max(rating) AS rating
     FROM (SELECT user_id, item_id, count(*) AS plays, max(watched_at) AS last_played_at, NULL::real AS rating
           FROM imported_plays WHERE item_table = '{played}' AND item_id IS NOT NULL AND {user_filter}
           GROUP BY user_id, item_id
           UNION ALL
           SELECT user_id, item_id, 0, NULL, rating
           FROM imported_ratings WHERE item_table = '{played}' AND item_id IS NOT NULL AND {user_filter}
          ) AS each_source
     GROUP BY user_id, item_id
 ) AS i ON i.user_id = p.user_id AND i.item_id = p.{play_item_id})
"""

# Every user's plays in one query ($1 null), or those of the users in $1, column by column: each
# user's taste and the co-watching across all.
PLAYS = (
    """
SELECT user_id,
       array_agg({play_item_id}) AS item_ids,
       array_agg(play_count) AS play_counts,
       array_agg(is_favorite) AS favourite,
       array_agg(user_rating) AS user_ratings,
       array_agg(extract(epoch FROM last_played_at)::float8) AS last_played,
       array_agg(played OR play_count > 0) AS watched
FROM """
    + MERGED_PLAYS.replace("{user_filter}", "($1::text[] IS NULL OR user_id = ANY($1::text[]))")
    + """ AS merged
WHERE played OR play_count > 0 OR is_favorite OR position_ticks > 0
GROUP BY user_id
"""
)

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
