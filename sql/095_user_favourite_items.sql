-- Favourites of a kind's own items when its plays are of other rows: a series marked favourite is
-- not one of its episodes, so it has no row in episode_plays. The watch-history step stores the
-- favourite ids per user and kind (replaced whole by each read); the kind's derived state reads them
-- (a favourite show is strong taste, played or not).
CREATE TABLE IF NOT EXISTS user_favourite_items (
    user_id text NOT NULL REFERENCES media_users (id) ON DELETE CASCADE,
    media_type text NOT NULL,
    item_ids text[] NOT NULL,
    checked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, media_type)
);
