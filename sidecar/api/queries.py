"""Named SQL the API reads directly (the job system's lives in sidecar.jobs.queries)."""

USER_EXISTS = "SELECT EXISTS (SELECT 1 FROM media_users WHERE id = $1)"
