"""Generic SQL of the sync step ({items} is the kind's table; its upsert comes from the kind)."""

# content_hash here is the server text's hash (sql/130_text_hash.sql): what an incoming row is compared with.
_EXISTING = "SELECT id, coalesce(text_hash, content_hash) AS content_hash, sync_hash, removed_at IS NOT NULL AS removed FROM {items}"
EXISTING_ITEMS = _EXISTING
EXISTING_ITEMS_BY_ID = _EXISTING + " WHERE id = ANY($1::text[])"

MARK_REMOVED = """
UPDATE {items} SET removed_at = now(), updated_at = now()
WHERE id = ANY($1::text[]) AND removed_at IS NULL
RETURNING id
"""

# For a child level ({items} = the child table, e.g. episodes; {item_id} its parent column): the users
# whose picks hold the parents of these child rows.
USERS_PICKED_ABOVE = """
SELECT DISTINCT p.user_id FROM {picks} p JOIN {items} c ON c.{item_id} = p.{item_id}
WHERE c.id = ANY($1::text[])
"""
