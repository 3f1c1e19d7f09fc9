"""A media kind's six jobs, derived from the graph (sidecar/media/kind.py) and the generic steps."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sidecar.jobs.context import JobContext
from sidecar.jobs.registry import JobDefinition, JobGraph
from sidecar.media.embed import generate_embeddings
from sidecar.media.kind import GRAPH, MANUAL_ONLY, VARIANTS, KindStep, MediaKind, Step
from sidecar.media.libraries import sync_libraries
from sidecar.media.recommend import full_reset_recommendations, generate_recommendations
from sidecar.media.sync import sync_items
from sidecar.media.watch_history import sync_watch_history

# Each step written once, for every kind (a kind may bring its own in `MediaKind.steps`).
GENERIC_STEPS: dict[Step, KindStep] = {
    Step.SYNC: sync_items,
    Step.EMBEDDINGS: generate_embeddings,
    Step.WATCH_HISTORY: sync_watch_history,
    Step.RECOMMENDATIONS: generate_recommendations,
    Step.FULL_RESET: full_reset_recommendations,
    Step.LIBRARIES: sync_libraries,
}


def _texts(kind: MediaKind, step: Step) -> tuple[str, str]:
    """(title, description) of a step's job card."""
    one, many = kind.singular, kind.name
    return {
        Step.SYNC: (
            f"Sync {many}",
            f"Import {many} and their metadata from the media server's {one} libraries; "
            f"mark {many} that disappeared as removed.",
        ),
        Step.EMBEDDINGS: (
            f"Generate {one} embeddings",
            f"Turn each new or changed {one}'s metadata into a vector for similarity search.",
        ),
        Step.WATCH_HISTORY: (
            f"Sync {one} watch history",
            "Import what each enabled user has watched: plays, play counts, favourites, ratings.",
        ),
        Step.RECOMMENDATIONS: (
            f"Generate {one} recommendations",
            f"Score every unwatched {one} for each enabled user and keep the top picks.",
        ),
        Step.FULL_RESET: (
            f"Full reset of {one} recommendations",
            f"Delete every user's {one} recommendations, then rebuild them from scratch. Manual only.",
        ),
        Step.LIBRARIES: (
            f"Sync {one} libraries",
            "Write each user's AI Picks folder (symlinks or STRM, with NFO) and register it "
            "in the media server, visible to that user only.",
        ),
    }[step]


def _runner(kind: MediaKind, step: Step) -> Callable[[JobContext], Awaitable[dict[str, Any] | None]]:
    func = kind.steps.get(step, GENERIC_STEPS[step])

    async def run(ctx: JobContext) -> dict[str, Any] | None:
        return await func(ctx, kind)

    run.__name__ = run.__qualname__ = kind.job(step).replace("-", "_")
    return run


def job_graph(kind: MediaKind) -> JobGraph:
    """The kind's six jobs, from `GRAPH`: its pipeline is every step that is not manual-only."""
    jobs = []
    for order, step in enumerate(GRAPH, start=1):
        title, description = _texts(kind, step)
        jobs.append(
            JobDefinition(
                name=kind.job(step),
                title=title,
                category=kind.name,
                description=description,
                func=_runner(kind, step),
                variants=VARIANTS.get(step, ("regular",)),
                manual_only=step in MANUAL_ONLY,
                prerequisites=tuple(kind.job(p) for p in GRAPH[step]),
                default_schedule=kind.schedules.get(step),
                order=10 * order,
            )
        )
    return JobGraph(name=kind.name, jobs=tuple(jobs))
