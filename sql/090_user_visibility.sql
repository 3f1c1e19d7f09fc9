-- A user whom the server's policy restricts (some libraries only, a parental rating, blocked or
-- allowed tags) gets picks only from what the server shows them. The server answers that itself
-- (a listing made with the user's id applies the policy), so no rating scale or tag rule is copied
-- here: the ids it lists are stored per user and kind, refreshed by each watch-history run.
-- `access` keeps the policy's access rules as the users listing gave them (sidecar.mediaserver.UserAccess).
ALTER TABLE media_users ADD COLUMN IF NOT EXISTS access jsonb;

CREATE TABLE IF NOT EXISTS user_visible_items (
    user_id text NOT NULL REFERENCES media_users (id) ON DELETE CASCADE,
    media_type text NOT NULL,
    item_ids text[] NOT NULL,
    checked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, media_type)
);
