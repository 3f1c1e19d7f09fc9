-- Series as a media kind (issue #16): shows and their episodes, episode plays, the per-user state of
-- each show, series vectors and picks. Seasons are not rows: an episode's season is its number.

CREATE TABLE series (
    id                text PRIMARY KEY,                 -- the server's item id
    library_id        text,
    title             text NOT NULL,
    original_title    text,
    sort_title        text,
    year              integer,
    end_year          integer,
    status            text,                             -- Continuing / Ended / Unreleased
    overview          text,
    genres            text[] NOT NULL DEFAULT '{}',
    studios           text[] NOT NULL DEFAULT '{}',     -- first = network
    people            jsonb NOT NULL DEFAULT '[]',
    tags              text[] NOT NULL DEFAULT '{}',
    community_rating  real,
    official_rating   text,
    provider_ids      jsonb NOT NULL DEFAULT '{}',
    tmdb_id           text,
    imdb_id           text,
    tvdb_id           text,
    path              text,
    premiere_date     date,
    date_added        timestamptz,
    content_hash      text NOT NULL,                    -- what the embedding text is made of
    sync_hash         text NOT NULL,                    -- every stored column
    removed_at        timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX series_tmdb ON series (tmdb_id);
CREATE INDEX series_tvdb ON series (tvdb_id);
CREATE INDEX series_imdb ON series (imdb_id);

-- No foreign key to series: a page of episodes may name a show added after the show listing ran;
-- it joins once the next sync has it.
CREATE TABLE episodes (
    id                  text PRIMARY KEY,
    series_id           text NOT NULL,
    library_id          text,
    season_number       integer,                        -- ParentIndexNumber; 0 = specials
    episode_number      integer,
    episode_number_end  integer,
    title               text NOT NULL,
    overview            text,
    premiere_date       date,
    runtime_ticks       bigint,
    path                text,
    provider_ids        jsonb NOT NULL DEFAULT '{}',    -- the episode's own ids
    tmdb_id             text,
    imdb_id             text,
    tvdb_id             text,
    date_added          timestamptz,
    content_hash        text NOT NULL,
    sync_hash           text NOT NULL,
    removed_at          timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
-- Not unique: several versions of one episode share the numbers.
CREATE INDEX episodes_numbers ON episodes (series_id, season_number, episode_number);

CREATE TABLE episode_plays (
    user_id         text NOT NULL REFERENCES media_users (id) ON DELETE CASCADE,
    episode_id      text NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
    played          boolean NOT NULL DEFAULT false,
    play_count      integer NOT NULL DEFAULT 0,
    last_played_at  timestamptz,
    is_favorite     boolean NOT NULL DEFAULT false,
    user_rating     real,
    position_ticks  bigint NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, episode_id)
);
CREATE INDEX episode_plays_episode ON episode_plays (episode_id);

-- Rebuilt from the plays after every series watch-history run; the recommender and the library
-- writer read only this.
CREATE TABLE series_user_state (
    user_id               text NOT NULL REFERENCES media_users (id) ON DELETE CASCADE,
    series_id             text NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    state                 text NOT NULL CHECK (state IN ('started', 'watching', 'finished', 'dropped')),
    episodes_played       integer NOT NULL,
    episodes_available    integer NOT NULL,
    episodes_in_progress  integer NOT NULL,
    first_played_at       timestamptz,
    last_played_at        timestamptz,
    favourite             boolean NOT NULL DEFAULT false,
    updated_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, series_id)
);
CREATE INDEX series_user_state_series ON series_user_state (series_id);

CREATE TABLE series_embeddings (
    series_id     text NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    model         text NOT NULL,
    dimensions    integer NOT NULL,
    content_hash  text NOT NULL,
    embedding     vector NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (series_id, model)
);
CREATE INDEX series_embeddings_model ON series_embeddings (model);

CREATE TABLE series_recommendations (
    user_id       text NOT NULL REFERENCES media_users (id) ON DELETE CASCADE,
    series_id     text NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    rank          integer NOT NULL CHECK (rank >= 1),
    score         real NOT NULL,
    breakdown     jsonb NOT NULL,
    evidence      jsonb NOT NULL DEFAULT '[]',
    explanation   text,
    run_id        uuid,
    generated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, series_id)
);
CREATE UNIQUE INDEX series_recommendations_rank ON series_recommendations (user_id, rank);
