"""Named SQL the API reads directly (the job system's lives in sidecar.jobs.queries)."""

USER_EXISTS = "SELECT EXISTS (SELECT 1 FROM media_users WHERE id = $1)"

USER_NAME = "SELECT name FROM media_users WHERE id = $1"

# Whether the user's picks of a kind are written as their AI library (the admin's "is it on the server").
USER_LIBRARY = """
SELECT entries, last_synced_at, library_id IS NOT NULL AS registered
FROM user_libraries WHERE user_id = $1 AND media_type = $2
"""

# --- /metrics: counts read at scrape time ---------------------------------------------------------
RUNS_BY_STATUS = "SELECT job, status, count(*) AS runs FROM job_runs GROUP BY job, status"

LAST_SUCCESS = """
SELECT job, max(finished_at) AS finished_at FROM job_runs WHERE status = 'completed' GROUP BY job
"""

QUEUE_LENGTH = "SELECT count(*) FROM job_runs WHERE status = 'queued'"

WEBHOOK_EVENTS_BY_OUTCOME = """
SELECT server_kind,
       CASE WHEN duplicate_of IS NOT NULL THEN 'duplicate' ELSE status END AS outcome,
       count(*) AS events
FROM webhook_events GROUP BY 1, 2
"""
