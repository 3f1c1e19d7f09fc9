-- State that several media kinds share or must keep apart (sidecar/media/kind.py).

-- Watch-history watermark per (user, kind): a movie run must not move the series run's watermark.
CREATE TABLE watch_history_watermarks (
    user_id    text NOT NULL REFERENCES media_users (id) ON DELETE CASCADE,
    kind       text NOT NULL,                      -- MediaKind.name: 'movies', 'series', ...
    synced_at  timestamptz NOT NULL,               -- start of the last successful history sync
    PRIMARY KEY (user_id, kind)
);
INSERT INTO watch_history_watermarks (user_id, kind, synced_at)
SELECT id, 'movies', history_synced_at FROM media_users WHERE history_synced_at IS NOT NULL;
ALTER TABLE media_users DROP COLUMN history_synced_at;

-- One folder name per user for all their libraries (users/<folder>/ai-movies, .../ai-series).
CREATE TABLE user_folders (
    user_id      text PRIMARY KEY REFERENCES media_users (id) ON DELETE CASCADE,
    folder_name  text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX user_folders_name ON user_folders (lower(folder_name));
INSERT INTO user_folders (user_id, folder_name)
SELECT DISTINCT ON (user_id) user_id, folder_name FROM user_libraries ORDER BY user_id, created_at;

-- Libraries of any registered kind (the kind's name), not only movies.
ALTER TABLE user_libraries DROP CONSTRAINT IF EXISTS user_libraries_media_type_check;
