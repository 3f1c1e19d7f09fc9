-- The job system: Postgres is the source of truth for every run; ARQ only carries run ids.

CREATE TABLE job_runs (
    id               uuid PRIMARY KEY,
    seq              bigserial NOT NULL UNIQUE,          -- FIFO order of the queue
    job              text NOT NULL,
    variant          text NOT NULL DEFAULT 'regular',
    trigger          text NOT NULL CHECK (trigger IN ('manual', 'schedule', 'webhook', 'pipeline')),
    status           text NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
    scope            jsonb,                              -- null = everything; {"item_ids": [...]} / {"user_ids": [...]}
    depends_on       uuid REFERENCES job_runs (id),      -- pipeline: the previous step
    not_before       timestamptz,                        -- debounce: not started before this time
    queued_at        timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    current_step     text,
    items_processed  integer NOT NULL DEFAULT 0,
    items_total      integer,
    items_failed     integer NOT NULL DEFAULT 0,
    result           jsonb,
    error            text,
    cancel_requested boolean NOT NULL DEFAULT false,
    worker_id        text
);

CREATE INDEX job_runs_job_seq ON job_runs (job, seq DESC);
CREATE INDEX job_runs_seq ON job_runs (seq DESC);
CREATE INDEX job_runs_active ON job_runs (status, seq) WHERE status IN ('queued', 'running');
-- At most one queued run per job and variant: a second request joins it instead.
CREATE UNIQUE INDEX job_runs_one_queued ON job_runs (job, variant) WHERE status = 'queued';

CREATE TABLE job_run_logs (
    id      bigserial PRIMARY KEY,
    run_id  uuid NOT NULL REFERENCES job_runs (id) ON DELETE CASCADE,
    ts      timestamptz NOT NULL DEFAULT now(),
    level   text NOT NULL CHECK (level IN ('debug', 'info', 'warning', 'error')),
    message text NOT NULL,
    data    jsonb
);
CREATE INDEX job_run_logs_run ON job_run_logs (run_id, id);

CREATE TABLE job_schedules (
    job            text PRIMARY KEY,
    cron           text NOT NULL,
    enabled        boolean NOT NULL DEFAULT true,
    timezone       text NOT NULL DEFAULT 'UTC',
    last_fired_at  timestamptz,        -- the due time last enqueued; the next due time follows it
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE worker_heartbeats (
    worker_id     text PRIMARY KEY,
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz NOT NULL DEFAULT now()
);
