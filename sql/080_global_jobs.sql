-- Global jobs (#17): users as their own job, per-kind switches, run notifications, backup records.

-- `enabled` stays the movies switch (every movie query reads it); series get their own.
ALTER TABLE media_users ADD COLUMN IF NOT EXISTS series_enabled boolean NOT NULL DEFAULT true;
ALTER TABLE media_users ADD COLUMN IF NOT EXISTS last_activity_at timestamptz;
-- When the sidecar last removed this user's AI libraries (disabled or deleted on the server).
ALTER TABLE media_users ADD COLUMN IF NOT EXISTS libraries_removed_at timestamptz;

-- A worker retry or a second finish hook never sends the same failure twice.
ALTER TABLE job_runs ADD COLUMN IF NOT EXISTS notified_at timestamptz;

-- One row per backup file the backup job wrote and checked; the files on disk are the truth for the
-- listing, this table says whether each passed the full read.
CREATE TABLE IF NOT EXISTS database_backups (
    name         text PRIMARY KEY,              -- file name under the backup directory
    size_bytes   bigint NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    verified     boolean NOT NULL,
    verify_error text,
    run_id       uuid
);

-- The shared Top Picks library of each media kind (one row per kind, written by refresh-top-picks).
CREATE TABLE IF NOT EXISTS shared_libraries (
    name_key        text PRIMARY KEY,           -- 'top-picks:movies'
    media_type      text NOT NULL,
    folder_path     text NOT NULL,
    server_path     text,
    library_name    text,
    library_id      text,
    library_item_id text,
    library_guid    text,
    manifest_hash   text,
    entries         integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_synced_at  timestamptz
);
