"""Named SQL of the webhook receiver."""

EVENT_COLUMNS = """
    id, server_kind, server_id, source_event, event, reason, user_id, item_id, item_type, tmdb_id,
    imdb_id, played, position_ticks, path, occurred_at, received_at, content_type, dedupe_key,
    duplicate_of, status, ignored_reason, planned_run_ids, planned_at
"""

# The first delivery of a dedupe key gets the row; a repeat returns nothing.
INSERT_EVENT = """
INSERT INTO webhook_events (
    id, server_kind, server_id, source_event, event, reason, user_id, item_id, item_type, tmdb_id,
    imdb_id, played, position_ticks, path, occurred_at, content_type, body, dedupe_key, status,
    ignored_reason)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id
"""

# A repeated delivery is recorded too (no dedupe key, pointing at the first), so every 2xx has a row.
INSERT_DUPLICATE = """
INSERT INTO webhook_events (
    id, server_kind, server_id, source_event, event, reason, user_id, item_id, item_type, tmdb_id,
    imdb_id, played, position_ticks, path, occurred_at, content_type, body, dedupe_key, status,
    ignored_reason, duplicate_of)
SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, NULL, 'ignored',
    'duplicate', id
FROM webhook_events WHERE dedupe_key = $18
RETURNING id
"""

# The events of one coalesced submit joined run $2.
MARK_PLANNED = """
UPDATE webhook_events
SET status = 'planned', planned_run_ids = array_append(planned_run_ids, $2), planned_at = now()
WHERE id = ANY($1::uuid[]) AND NOT ($2 = ANY(planned_run_ids))
"""

# An event whose plan needs no run at all (re-planned after its decision changed).
MARK_PLANNED_WITHOUT_RUNS = """
UPDATE webhook_events SET status = 'planned', planned_at = now() WHERE id = $1
"""

# Events stored but never planned (the process stopped between insert and plan), oldest first.
UNPLANNED_EVENTS = f"""
SELECT {EVENT_COLUMNS} FROM webhook_events
WHERE status = 'received' AND received_at < now() - make_interval(secs => $1)
ORDER BY received_at LIMIT $2
"""

# --- own output libraries ---------------------------------------------------------------------------
# The folders of our AI libraries as the media server sees them (user_libraries, migration 040).
SIDECAR_LIBRARY_PATHS = """
SELECT server_path FROM user_libraries WHERE server_path IS NOT NULL
"""

# Retention: deliveries older than the cut-off, in batches; one still waiting to be planned stays.
PRUNE_EVENTS = """
DELETE FROM webhook_events WHERE id IN (
    SELECT id FROM webhook_events WHERE received_at < $1 AND status <> 'received'
    ORDER BY received_at LIMIT $2)
"""

# The echo of a played / favourite mark the sidecar made (sql/115_own_marks.sql): each marked flag
# answers one webhook, within the window ($5 seconds). Returns a row when this event was that echo.
TAKE_OWN_MARK = """
UPDATE own_marks SET played = played AND NOT $3, favourite = favourite AND NOT $4
WHERE user_id = $1 AND item_id = $2 AND marked_at > now() - make_interval(secs => $5)
  AND (($3 AND played) OR ($4 AND favourite))
RETURNING user_id
"""


# `{table}` is the synced rows of the event's item type (movies, series or episodes; a code constant
# from `MediaKind.table_of`, never input). $1 item id.
IN_CATALOGUE = "SELECT EXISTS (SELECT 1 FROM {table} WHERE id = $1)"

# An announced item the catalogue does not hold ($1) whose TMDb ($2) or IMDb ($3) id is that of one it
# does: a copy in one of the sidecar's libraries (its NFO gives it the original's ids).
COPY_OF_KNOWN_ITEM = """
SELECT NOT EXISTS (SELECT 1 FROM {table} WHERE id = $1)
   AND EXISTS (SELECT 1 FROM {table}
               WHERE id <> $1 AND (($2::text IS NOT NULL AND tmdb_id = $2) OR ($3::text IS NOT NULL AND imdb_id = $3)))
"""
