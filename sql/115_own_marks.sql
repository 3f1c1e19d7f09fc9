-- Played / favourite marks the sidecar itself made on the media server (an original marked because
-- its copy in an AI library was watched, sidecar.media.copies). The server answers every mark with a
-- webhook (Jellyfin UserDataSaved TogglePlayed / UpdateUserRating, Emby item.markplayed / item.rate)
-- that would plan another watch-history chain for nothing; the planner ignores that echo once.
CREATE TABLE IF NOT EXISTS own_marks (
    user_id text NOT NULL,
    item_id text NOT NULL,
    played boolean NOT NULL DEFAULT false,
    favourite boolean NOT NULL DEFAULT false,
    marked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, item_id)
);
