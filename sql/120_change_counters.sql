-- How often each table a recommendation run reads has changed, so a worker can tell in one small query
-- that its cached catalogue, plays and co-watching are still what the database holds
-- (sidecar.media.recommend_data). Every statement that writes one of those tables appends one row here
-- (a statement-level trigger); a table's counter is the sum of its rows. Appending, not updating one
-- row per table, takes no lock other writers would queue behind (a long sync and a webhook writing
-- plays at once) and cannot deadlock; the reader folds the rows back to one per table now and then
-- (COMPACT_CHANGE_COUNTERS), which keeps every sum. Counters only grow, inside transactions: a reader
-- that reads them before the data never pairs a counter with older data than it stands for.
CREATE TABLE IF NOT EXISTS change_counters (
    name text NOT NULL,  -- the table written
    bumps bigint NOT NULL DEFAULT 1
);

CREATE OR REPLACE FUNCTION bump_change_counter() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO change_counters (name) VALUES (TG_TABLE_NAME);
    RETURN NULL;
END;
$$;

DO $$
DECLARE
    watched text;
BEGIN
    FOREACH watched IN ARRAY ARRAY[
        'embedding_models', 'item_enrichment',                      -- every kind's catalogue
        'movies', 'movie_embeddings', 'movie_plays',                -- movies
        'series', 'series_embeddings', 'episode_plays', 'series_user_state',  -- series
        'imported_plays', 'imported_ratings'                        -- plays from outside services
    ] LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I', watched || '_changed', watched);
        EXECUTE format(
            'CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I '
            'FOR EACH STATEMENT EXECUTE FUNCTION bump_change_counter()',
            watched || '_changed', watched
        );
    END LOOP;
END;
$$;
