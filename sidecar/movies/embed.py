"""`generate-movie-embeddings`: placeholder until its implementation lands."""

from __future__ import annotations

from typing import Any

from sidecar.jobs.context import JobContext, JobError


async def generate_movie_embeddings(ctx: JobContext) -> dict[str, Any]:
    raise JobError("generate-movie-embeddings is not implemented in this version yet")
