"""`sync-movie-watch-history`: placeholder until its implementation lands."""

from __future__ import annotations

from typing import Any

from sidecar.jobs.context import JobContext, JobError


async def sync_movie_watch_history(ctx: JobContext) -> dict[str, Any]:
    raise JobError("sync-movie-watch-history is not implemented in this version yet")
