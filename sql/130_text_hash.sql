-- The hash of an item's text as the server gives it, apart from content_hash: enrich-metadata renews
-- content_hash when its fields join the embedding text (sql/100_enrichment.sql), so a sync that
-- rewrote an enriched item for a change outside its text (a new rating, file path or poster) put
-- content_hash back to the server's value and the item was re-embedded for nothing. The sync now keeps
-- content_hash while text_hash stays the same. Episodes carry it too: the sync reads every level alike.
ALTER TABLE movies ADD COLUMN IF NOT EXISTS text_hash text;
ALTER TABLE series ADD COLUMN IF NOT EXISTS text_hash text;
ALTER TABLE episodes ADD COLUMN IF NOT EXISTS text_hash text;

-- Rows never enriched hold the server's hash as it is; an enriched row's is unknown until its next
-- write (NULL: that one write re-embeds it, as before).
UPDATE movies m SET text_hash = content_hash
WHERE text_hash IS NULL AND NOT EXISTS (
    SELECT 1 FROM item_enrichment x WHERE x.items_table = 'movies' AND x.item_id = m.id AND x.status = 'enriched');
UPDATE series s SET text_hash = content_hash
WHERE text_hash IS NULL AND NOT EXISTS (
    SELECT 1 FROM item_enrichment x WHERE x.items_table = 'series' AND x.item_id = s.id AND x.status = 'enriched');
UPDATE episodes SET text_hash = content_hash WHERE text_hash IS NULL;
