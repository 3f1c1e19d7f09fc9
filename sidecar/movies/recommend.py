"""`generate-movie-recommendations`: placeholder until its implementation lands."""

from __future__ import annotations

from typing import Any

from sidecar.jobs.context import JobContext, JobError


async def generate_movie_recommendations(ctx: JobContext) -> dict[str, Any]:
    raise JobError("generate-movie-recommendations is not implemented in this version yet")


async def full_reset_movie_recommendations(ctx: JobContext) -> dict[str, Any]:
    raise JobError("full-reset-movie-recommendations is not implemented in this version yet")
