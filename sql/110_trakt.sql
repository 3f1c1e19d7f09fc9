-- Trakt (issue #19): linked accounts with their tokens encrypted, pending device-code links, and the
-- plays and ratings imported from an outside service. Imported rows are kept apart from the media
-- server's own state (movie_plays, episode_plays), which a watch-history run rewrites: the two are
-- merged when the recommender reads them, the server's rating first (`source` tells them apart).

-- One row per linked user. Tokens are Fernet tokens (SIDECAR_SECRET_KEY), never clear text.
CREATE TABLE trakt_accounts (
    user_id            text PRIMARY KEY REFERENCES media_users (id) ON DELETE CASCADE,
    access_token       bytea NOT NULL,
    refresh_token      bytea NOT NULL,
    expires_at         timestamptz NOT NULL,
    linked_at          timestamptz NOT NULL DEFAULT now(),
    refreshed_at       timestamptz,
    activities         jsonb,               -- the last /sync/last_activities stamps that were imported
    history_synced_to  timestamptz,         -- newest watched_at imported: the next history read starts there
    last_synced_at     timestamptz,
    last_error         text                 -- why this user's last import failed (never a token)
);

-- A link waiting for the user to enter the code at Trakt; the device code is encrypted too.
CREATE TABLE trakt_device_codes (
    user_id           text PRIMARY KEY REFERENCES media_users (id) ON DELETE CASCADE,
    device_code       bytea NOT NULL,
    user_code         text NOT NULL,
    verification_url  text NOT NULL,
    expires_at        timestamptz NOT NULL,
    interval_seconds  integer NOT NULL CHECK (interval_seconds > 0),
    next_poll_at      timestamptz NOT NULL,
    state             text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'expired', 'denied', 'invalid')),
    created_at        timestamptz NOT NULL DEFAULT now()
);

-- Plays from an outside service, one row per history entry (its id de-duplicates). `item_id` is the
-- server item it matched in `item_table` (null: not on the server; matched again at every import).
CREATE TABLE imported_plays (
    user_id     text NOT NULL REFERENCES media_users (id) ON DELETE CASCADE,
    source      text NOT NULL,                  -- 'trakt'
    source_id   bigint NOT NULL,                -- the service's history id
    item_table  text NOT NULL CHECK (item_table IN ('movies', 'episodes')),
    item_id     text,
    tmdb_id     text,                           -- the movie's or the episode's show's ids
    imdb_id     text,
    tvdb_id     text,
    season      integer,                        -- episodes: matched by (show, season, number)
    number      integer,
    watched_at  timestamptz NOT NULL,
    PRIMARY KEY (user_id, source, source_id)
);
CREATE INDEX imported_plays_item ON imported_plays (item_table, item_id, user_id);

-- Ratings from an outside service, one per rated title (`source_key`: the service's own id of it).
CREATE TABLE imported_ratings (
    user_id     text NOT NULL REFERENCES media_users (id) ON DELETE CASCADE,
    source      text NOT NULL,
    item_table  text NOT NULL CHECK (item_table IN ('movies', 'series', 'episodes')),
    source_key  text NOT NULL,
    item_id     text,
    tmdb_id     text,
    imdb_id     text,
    tvdb_id     text,
    season      integer,
    number      integer,
    rating      real NOT NULL CHECK (rating BETWEEN 1 AND 10),
    rated_at    timestamptz NOT NULL,
    PRIMARY KEY (user_id, source, item_table, source_key)
);
CREATE INDEX imported_ratings_item ON imported_ratings (item_table, item_id, user_id);
