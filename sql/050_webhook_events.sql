-- Every well-formed webhook delivery, written before the server gets its 2xx: the durable record
-- that makes "nothing lost" checkable, and the place where duplicates are recognised.

CREATE TABLE webhook_events (
    id               uuid PRIMARY KEY,
    server_kind      text NOT NULL CHECK (server_kind IN ('jellyfin', 'emby')),
    server_id        text,
    source_event     text NOT NULL,                     -- the server's own name: PlaybackStop, library.new, ...
    event            text NOT NULL,                     -- normalised: item_added, playback_stopped, ...
    reason           text,                              -- Jellyfin UserDataSaved SaveReason
    user_id          text,                              -- 32-hex lowercase
    item_id          text,                              -- Jellyfin 32-hex lowercase, Emby numeric string
    item_type        text,
    tmdb_id          text,
    imdb_id          text,
    played           boolean,
    position_ticks   bigint,
    path             text,                              -- Emby only: the item's path as the server sees it
    occurred_at      timestamptz,                       -- the server's own timestamp
    received_at      timestamptz NOT NULL DEFAULT now(),
    content_type     text,
    body             text NOT NULL,                     -- the raw body as received, for replay and debugging
    -- Identifies one delivery (server, event, item, user, server timestamp). Null on the rows that
    -- record a duplicate delivery; those point at the first one instead.
    dedupe_key       text UNIQUE,
    duplicate_of     uuid REFERENCES webhook_events (id) ON DELETE SET NULL,
    status           text NOT NULL CHECK (status IN ('received', 'planned', 'ignored')),
    ignored_reason   text,
    planned_run_ids  uuid[] NOT NULL DEFAULT '{}',
    planned_at       timestamptz,
    CHECK ((status = 'ignored') = (ignored_reason IS NOT NULL))
);

CREATE INDEX webhook_events_received ON webhook_events (received_at DESC);
-- Stored but not yet turned into runs (the process died between the insert and the plan).
CREATE INDEX webhook_events_unplanned ON webhook_events (received_at) WHERE status = 'received';
