-- Each user's AI library: its folder on disk and, once registered, the media server's ids for it.

CREATE TABLE user_libraries (
    user_id          text NOT NULL REFERENCES media_users (id) ON DELETE CASCADE,
    media_type       text NOT NULL CHECK (media_type IN ('movies')),
    folder_name      text NOT NULL,                 -- users/<folder_name>/ai-<media_type>; never renamed
    folder_path      text NOT NULL,                 -- as the sidecar sees it
    server_path      text,                          -- as the media server sees it (the library location)
    library_name     text,
    library_id       text,                          -- virtual folder id (Jellyfin: ItemId; Emby: Id)
    library_item_id  text,                          -- for refresh calls (Emby ItemId)
    library_guid     text,                          -- for user policies' EnabledFolders
    manifest_hash    text,                          -- of the entries last written
    entries          integer NOT NULL DEFAULT 0,
    last_synced_at   timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),  -- also the anchor of the entries' dateadded
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, media_type)
);
CREATE UNIQUE INDEX user_libraries_folder ON user_libraries (media_type, lower(folder_name));
