"""The discovery job's definition for the composition root's GLOBAL_JOBS."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sidecar.discovery.job import generate_discovery_suggestions
from sidecar.jobs.context import JobContext
from sidecar.jobs.registry import JobDefinition
from sidecar.media.kind import MediaKind

JOB_NAME = "generate-discovery-suggestions"


def discovery_jobs(kinds: Sequence[MediaKind]) -> tuple[JobDefinition, ...]:
    """The discovery job for this build's media kinds (category `global`)."""

    async def run(ctx: JobContext) -> dict[str, Any]:
        return await generate_discovery_suggestions(ctx, kinds)

    run.__name__ = run.__qualname__ = "generate_discovery_suggestions"
    return (
        JobDefinition(
            name=JOB_NAME,
            title="Generate discovery suggestions",
            category="global",
            description="Titles that are not on the server, per user: TMDb's recommendations and similar "
            "titles of what they like, scored with their taste. Needs SIDECAR_TMDB_API_KEY.",
            func=run,
            default_schedule="0 6 * * *",
            order=60,
        ),
    )
