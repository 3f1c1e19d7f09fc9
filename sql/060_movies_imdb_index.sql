-- Watch events about an AI Picks copy are mapped to the original movie by provider id (webhooks/planner.py);
-- TMDb already has an index, IMDb is the fallback when a copy has no TMDb id.
CREATE INDEX IF NOT EXISTS movies_imdb ON movies (imdb_id) WHERE imdb_id IS NOT NULL;
