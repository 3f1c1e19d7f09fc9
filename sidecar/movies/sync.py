"""`sync-movies`: placeholder until its implementation lands."""

from __future__ import annotations

from typing import Any

from sidecar.jobs.context import JobContext, JobError


async def sync_movies(ctx: JobContext) -> dict[str, Any]:
    raise JobError("sync-movies is not implemented in this version yet")
