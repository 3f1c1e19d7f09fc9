-- Metadata from outside services (TMDb, OMDb) per item of any media kind (issue #19, enrich-metadata).
-- Keyed by the kind's items table (KindTables.items: 'movies', 'series'), so generic SQL can join it as
-- `items_table = '{items}'`. No foreign key: a row outlives its item's removal and costs nothing.

CREATE TABLE item_enrichment (
    items_table        text NOT NULL,
    item_id            text NOT NULL,
    source_key         text NOT NULL,      -- the id it was looked up by: 'tmdb:603', 'imdb:tt…', 'tvdb:…'
    version            integer NOT NULL,   -- what the job stores; a newer job re-enriches older rows
    status             text NOT NULL CHECK (status IN ('enriched', 'not_found')),
    retry_at           timestamptz,        -- not_found: ask again from then on
    tmdb_id            integer,            -- resolved by /find when the server had none
    imdb_id            text,
    tvdb_id            text,
    collection_id      integer,            -- TMDb belongs_to_collection
    collection_name    text,
    original_language  text,
    certification      text,               -- US release_dates / content_ratings
    keywords           text[] NOT NULL DEFAULT '{}',
    cast_names         text[] NOT NULL DEFAULT '{}',   -- billing order
    directors          text[] NOT NULL DEFAULT '{}',   -- movies: crew with job Director
    writers            text[] NOT NULL DEFAULT '{}',
    created_by         text[] NOT NULL DEFAULT '{}',   -- TV
    networks           text[] NOT NULL DEFAULT '{}',   -- TV
    data_hash          text,               -- of everything above that feeds the embedding text
    omdb_status        text CHECK (omdb_status IN ('enriched', 'not_found')),
    omdb_retry_at      timestamptz,
    rotten_tomatoes    integer,            -- critics' score, percent
    metacritic         integer,            -- 0-100
    imdb_rating        real,
    awards             text,
    enriched_at        timestamptz,
    omdb_enriched_at   timestamptz,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (items_table, item_id)
);
CREATE INDEX item_enrichment_collection ON item_enrichment (items_table, collection_id)
    WHERE collection_id IS NOT NULL;

-- Requests to metered services per UTC day (OMDb's free key: 1,000 a day).
CREATE TABLE service_usage (
    service   text NOT NULL,
    day       date NOT NULL,
    requests  integer NOT NULL DEFAULT 0,
    spent     boolean NOT NULL DEFAULT false,  -- the service said the quota is used up
    PRIMARY KEY (service, day)
);
