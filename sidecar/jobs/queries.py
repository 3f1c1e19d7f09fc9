"""Named SQL of the job system."""

RUN_COLUMNS = """
    id, seq, job, variant, trigger, status, scope, depends_on, not_before, queued_at, started_at,
    finished_at, current_step, items_processed, items_total, items_failed, result, error,
    cancel_requested, latest_start
"""

# Returns nothing when the job+variant already has a queued run (the partial unique index).
INSERT_RUN = f"""
INSERT INTO job_runs (id, job, variant, trigger, scope, depends_on, not_before, latest_start)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (job, variant) WHERE status = 'queued' DO NOTHING
RETURNING {RUN_COLUMNS}
"""

GET_QUEUED_FOR_JOB = f"""
SELECT {RUN_COLUMNS} FROM job_runs WHERE job = $1 AND variant = $2 AND status = 'queued'
"""

# Row lock for merging: two concurrent submits would otherwise each merge into the old scope and the
# second write would drop the first one's ids.
LOCK_QUEUED_FOR_JOB = GET_QUEUED_FOR_JOB + " FOR UPDATE"

# Widens a queued run's scope (null = everything) and pushes its start back for debouncing.
MERGE_QUEUED_SCOPE = f"""
UPDATE job_runs SET scope = $2, not_before = $3
WHERE id = $1 AND status = 'queued'
RETURNING {RUN_COLUMNS}
"""

GET_RUN = f"SELECT {RUN_COLUMNS} FROM job_runs WHERE id = $1"

# The worker always takes the oldest runnable run, whatever ARQ job woke it: FIFO by seq. A pipeline
# step is runnable only once its prerequisite ended (a debounced first step must not be overtaken).
CLAIM_NEXT_RUN = f"""
UPDATE job_runs SET status = 'running', started_at = now(), worker_id = $1
WHERE id = (
    SELECT r.id FROM job_runs r
    WHERE r.status = 'queued' AND (r.not_before IS NULL OR r.not_before <= now())
      AND NOT EXISTS (
          SELECT 1 FROM job_runs p WHERE p.id = r.depends_on AND p.status IN ('queued', 'running'))
    ORDER BY r.seq LIMIT 1
    FOR UPDATE OF r SKIP LOCKED
)
RETURNING {RUN_COLUMNS}
"""

# Steps that waited for this run: woken when it ends (their earlier wake-ups found them blocked).
QUEUED_DEPENDENTS = "SELECT id, not_before FROM job_runs WHERE depends_on = $1 AND status = 'queued'"

CLAIM_RUN = f"""
UPDATE job_runs SET status = 'running', started_at = now(), worker_id = $2
WHERE id = $1 AND status = 'queued'
RETURNING {RUN_COLUMNS}
"""

UPDATE_PROGRESS = """
UPDATE job_runs SET current_step = $2, items_processed = $3, items_total = $4, items_failed = $5
WHERE id = $1
RETURNING cancel_requested
"""

FINISH_RUN = f"""
UPDATE job_runs SET status = $2, finished_at = now(), result = $3, error = $4,
    current_step = $5, items_processed = $6, items_total = $7, items_failed = $8
WHERE id = $1 AND status = 'running'
RETURNING {RUN_COLUMNS}
"""

# A queued run that never started (cancelled, or its prerequisite did not complete).
END_QUEUED_RUN = f"""
UPDATE job_runs SET status = $2, finished_at = now(), error = $3,
    cancel_requested = cancel_requested OR $2 = 'cancelled'
WHERE id = $1 AND status = 'queued'
RETURNING {RUN_COLUMNS}
"""

REQUEST_CANCEL_RUNNING = f"""
UPDATE job_runs SET cancel_requested = true
WHERE id = $1 AND status = 'running'
RETURNING {RUN_COLUMNS}
"""

IS_CANCEL_REQUESTED = "SELECT cancel_requested FROM job_runs WHERE id = $1"

ACTIVE_RUNS_FOR_JOB = f"""
SELECT {RUN_COLUMNS} FROM job_runs WHERE job = $1 AND status IN ('queued', 'running') ORDER BY seq
"""

INSERT_LOG = """
INSERT INTO job_run_logs (run_id, level, message, data) VALUES ($1, $2, $3, $4)
"""

LIST_LOGS = """
SELECT id, ts, level, message, data FROM job_run_logs
WHERE run_id = $1 AND id > $2 ORDER BY id LIMIT $3
"""

# Keyset paging on seq; every filter is optional (null = any).
LIST_RUNS = f"""
SELECT {RUN_COLUMNS} FROM job_runs
WHERE ($1::text IS NULL OR job = $1)
  AND ($2::text IS NULL OR status = $2)
  AND ($3::bigint IS NULL OR seq < $3)
ORDER BY seq DESC LIMIT $4
"""

QUEUE = f"""
SELECT {RUN_COLUMNS} FROM job_runs WHERE status IN ('running', 'queued')
ORDER BY (status = 'running') DESC, seq
"""

# One row per job that has any run: what the card needs.
JOB_CARD_STATS = f"""
SELECT j.job,
       (SELECT to_jsonb(r) FROM (SELECT {RUN_COLUMNS} FROM job_runs
            WHERE job = j.job AND status = 'running' ORDER BY seq DESC LIMIT 1) r) AS current_run,
       (SELECT to_jsonb(r) FROM (SELECT {RUN_COLUMNS} FROM job_runs
            WHERE job = j.job AND status IN ('completed', 'failed', 'cancelled')
            ORDER BY seq DESC LIMIT 1) r) AS last_run,
       (SELECT count(*) FROM job_runs WHERE job = j.job AND status = 'queued') AS queued_runs
FROM unnest($1::text[]) AS j(job)
"""

# Runs left `running` by a worker without a fresh heartbeat ($2), or by this worker ($1) at a moment
# it runs nothing (start-up, its tick: one ARQ job at a time), e.g. after PostgreSQL came back.
INTERRUPT_ORPHANED_RUNS = f"""
UPDATE job_runs r SET status = 'failed', finished_at = now(),
    error = 'interrupted: worker restarted or lost the database while this run was running; run it again'
WHERE r.status = 'running'
  AND (r.worker_id = $1 OR NOT EXISTS (
      SELECT 1 FROM worker_heartbeats h
      WHERE h.worker_id = r.worker_id AND h.last_seen_at > now() - $2::interval))
RETURNING {RUN_COLUMNS}
"""

# Start-up, with the worker lock held: any other worker's heartbeat is a dead worker's.
FORGET_OTHER_WORKERS = "DELETE FROM worker_heartbeats WHERE worker_id <> $1"

FAIL_RUNNING_RUN = """
UPDATE job_runs SET status = 'failed', finished_at = now(), error = $2
WHERE id = $1 AND status = 'running'
"""

HEARTBEAT = """
INSERT INTO worker_heartbeats (worker_id, last_seen_at) VALUES ($1, now())
ON CONFLICT (worker_id) DO UPDATE SET last_seen_at = now()
"""

LAST_HEARTBEAT = "SELECT max(last_seen_at) FROM worker_heartbeats"

DELETE_HEARTBEAT = "DELETE FROM worker_heartbeats WHERE worker_id = $1"

# --- schedules ----------------------------------------------------------------------------------------
LIST_SCHEDULES = "SELECT job, cron, enabled, timezone, last_fired_at, updated_at FROM job_schedules"

SEED_SCHEDULE = """
INSERT INTO job_schedules (job, cron, enabled, timezone, last_fired_at)
VALUES ($1, $2, true, $3, now())
ON CONFLICT (job) DO NOTHING
"""

UPSERT_SCHEDULE = """
INSERT INTO job_schedules (job, cron, enabled, timezone, last_fired_at, updated_at)
VALUES ($1, $2, $3, $4, now(), now())
ON CONFLICT (job) DO UPDATE SET cron = $2, enabled = $3, timezone = $4, last_fired_at = now(),
    updated_at = now()
RETURNING job, cron, enabled, timezone, last_fired_at, updated_at
"""

# Schedules of jobs that are no longer registered would fire "unknown job" forever: drop them.
DELETE_UNKNOWN_SCHEDULES = "DELETE FROM job_schedules WHERE NOT (job = ANY($1::text[]))"

MARK_SCHEDULE_FIRED = """
UPDATE job_schedules SET last_fired_at = $2 WHERE job = $1 AND last_fired_at IS NOT DISTINCT FROM $3
"""

QUEUED_RUNS_FOR_SWEEP = "SELECT id, not_before FROM job_runs WHERE status = 'queued' ORDER BY seq"

# --- retention (worker/retention.py) ----------------------------------------------------------------
# Finished runs older than the cut-off, oldest first; never the latest finished run of a job+variant
# (the job card's "last run"), never one a queued or running pipeline step still waits on.
PRUNABLE_RUN_IDS = """
SELECT r.id FROM job_runs r
WHERE r.status IN ('completed', 'failed', 'cancelled')
  AND coalesce(r.finished_at, r.queued_at) < $1
  AND r.seq < (SELECT max(l.seq) FROM job_runs l
               WHERE l.job = r.job AND l.variant = r.variant AND l.status IN ('completed', 'failed', 'cancelled'))
  AND NOT EXISTS (SELECT 1 FROM job_runs w WHERE w.depends_on = r.id AND w.status IN ('queued', 'running'))
ORDER BY r.seq
LIMIT $2
"""
# Finished later steps keep their history, only without the link to a deleted earlier step.
UNLINK_PRUNED_RUNS = "UPDATE job_runs SET depends_on = NULL WHERE depends_on = ANY($1::uuid[])"
DELETE_RUNS = "DELETE FROM job_runs WHERE id = ANY($1::uuid[])"  # their logs go by ON DELETE CASCADE
