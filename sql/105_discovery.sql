-- Discovery (#19 point 2): titles that are not on the server, suggested per user and media kind from
-- TMDb's recommendations and similar titles of the user's seeds. TMDb answers are shared by every user
-- and kept between runs (`fetched_at` + SIDECAR_DISCOVERY_CACHE_DAYS), so a re-run asks only for what
-- is new or stale. TMDb's own word for a kind is `media_type` ('movie', 'tv'); the sidecar's is
-- `kind` (MediaKind.name: 'movies', 'series').

-- One seed title's recommendations and similar titles (TMDb ids in TMDb's order), or 'not_found'.
CREATE TABLE IF NOT EXISTS discovery_seed_lists (
    media_type  text NOT NULL,
    tmdb_id     integer NOT NULL,
    status      text NOT NULL CHECK (status IN ('ok', 'not_found')),
    recommended_ids integer[] NOT NULL DEFAULT '{}',
    similar_ids     integer[] NOT NULL DEFAULT '{}',
    fetched_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (media_type, tmdb_id)
);

-- What TMDb's list answers say of a title (on the server or not): what scoring and the page need.
CREATE TABLE IF NOT EXISTS discovery_titles (
    media_type        text NOT NULL,
    tmdb_id           integer NOT NULL,
    title             text NOT NULL,
    original_title    text,
    year              integer,
    overview          text,
    genres            text[] NOT NULL DEFAULT '{}',
    popularity        real,
    vote_average      real,
    vote_count        integer,
    poster_path       text,
    original_language text,
    adult             boolean NOT NULL DEFAULT false,
    content_hash      text NOT NULL,                  -- of the embedding text
    -- The title's certification (US), asked only for users with a parental limit; null = not asked.
    certification     text,
    certified_at      timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (media_type, tmdb_id)
);

-- Vectors of those titles per embedding model (the active model's space, like the server's items).
CREATE TABLE IF NOT EXISTS discovery_embeddings (
    media_type   text NOT NULL,
    tmdb_id      integer NOT NULL,
    model        text NOT NULL,
    content_hash text NOT NULL,
    embedding    vector NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (media_type, tmdb_id, model)
);

-- A server item that has an IMDb or TVDB id but no TMDb id, resolved through TMDb's /find once.
CREATE TABLE IF NOT EXISTS discovery_external_ids (
    source      text NOT NULL CHECK (source IN ('imdb', 'tvdb')),
    external_id text NOT NULL,
    media_type  text NOT NULL,
    tmdb_id     integer,                              -- null: TMDb knows no such title
    fetched_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, external_id, media_type)
);

-- Each user's current suggestions per kind, best first (replaced whole by each run).
CREATE TABLE IF NOT EXISTS discovery_suggestions (
    user_id      text NOT NULL REFERENCES media_users (id) ON DELETE CASCADE,
    kind         text NOT NULL,
    tmdb_id      integer NOT NULL,
    rank         integer NOT NULL CHECK (rank >= 1),
    score        real NOT NULL,
    breakdown    jsonb NOT NULL,                      -- every score component, by name
    seeds        jsonb NOT NULL DEFAULT '[]',         -- [{"item_id", "title", "why", "list"}] that led here
    reason       text NOT NULL,
    run_id       uuid,
    generated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, kind, tmdb_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS discovery_suggestions_rank ON discovery_suggestions (user_id, kind, rank);

-- Requests an admin sent to Jellyseerr/Overseerr. Their own table, no foreign key to a suggestion:
-- the next run replaces suggestions, a request stays (Aperture v0.6.2 failed on exactly that).
CREATE TABLE IF NOT EXISTS discovery_requests (
    id                bigserial PRIMARY KEY,
    user_id           text NOT NULL,                  -- whose suggestion it was
    kind              text NOT NULL,
    tmdb_id           integer NOT NULL,
    title             text,
    seasons           integer[],                      -- tv: the seasons asked for
    status            text NOT NULL CHECK (status IN ('requested', 'failed')),
    seerr_request_id  integer,
    seerr_status      integer,                        -- MediaRequest.status: 1 pending, 2 approved, 3 declined
    error             text,
    requested_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS discovery_requests_title ON discovery_requests (kind, tmdb_id);
