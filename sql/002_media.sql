-- What the media server has: users, movies, and each user's watch state per movie.

CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE media_users (
    id                   text PRIMARY KEY,              -- server user id, 32-hex lowercase
    name                 text NOT NULL,
    is_admin             boolean NOT NULL DEFAULT false,
    is_disabled          boolean NOT NULL DEFAULT false, -- disabled on the server: never processed
    enabled              boolean NOT NULL,               -- gets AI Picks (sidecar setting)
    max_recommendations  integer CHECK (max_recommendations BETWEEN 1 AND 500), -- null = global setting
    settings             jsonb NOT NULL DEFAULT '{}',
    history_synced_at    timestamptz,                    -- watermark of the last successful history sync
    removed_at           timestamptz,                    -- no longer on the server
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE movies (
    id               text PRIMARY KEY,                  -- server item id (Jellyfin 32-hex, Emby numeric string)
    library_id       text,
    title            text NOT NULL,
    original_title   text,
    sort_title       text,
    year             integer,
    overview         text,
    tagline          text,
    genres           text[] NOT NULL DEFAULT '{}',
    studios          text[] NOT NULL DEFAULT '{}',
    people           jsonb NOT NULL DEFAULT '[]',       -- [{"name", "type": "Director"|"Actor"|..., "role"}]
    tags             text[] NOT NULL DEFAULT '{}',
    community_rating real,
    critic_rating    real,
    official_rating  text,
    runtime_ticks    bigint,
    provider_ids     jsonb NOT NULL DEFAULT '{}',       -- keys lowercased: tmdb, imdb, ...
    tmdb_id          text,
    imdb_id          text,
    path             text,                              -- as the media server sees it
    image_tags       jsonb NOT NULL DEFAULT '{}',
    premiere_date    date,
    date_added       timestamptz,
    content_hash     text NOT NULL,                     -- of the metadata that feeds the embedding text
    removed_at       timestamptz,                       -- marked, never deleted, by sync-movies
    first_seen_at    timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX movies_active ON movies (id) WHERE removed_at IS NULL;
CREATE INDEX movies_tmdb ON movies (tmdb_id) WHERE tmdb_id IS NOT NULL;
CREATE INDEX movies_path ON movies (path);

CREATE TABLE movie_plays (
    user_id         text NOT NULL REFERENCES media_users (id) ON DELETE CASCADE,
    movie_id        text NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    played          boolean NOT NULL DEFAULT false,
    play_count      integer NOT NULL DEFAULT 0,
    last_played_at  timestamptz,
    is_favorite     boolean NOT NULL DEFAULT false,
    user_rating     real,                               -- the user's own rating, 0-10
    position_ticks  bigint NOT NULL DEFAULT 0,          -- resume position
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, movie_id)
);
CREATE INDEX movie_plays_movie ON movie_plays (movie_id);
