-- sync-movies: a hash over every synced column, so a re-sync skips unchanged rows without comparing
-- each column (content_hash covers only the embedding text; a new path or rating must still be saved).
ALTER TABLE movies ADD COLUMN sync_hash text;
