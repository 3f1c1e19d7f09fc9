"""A media kind (movies, series, ...) as a value: what differs between kinds, and nothing else.

The pipeline is the same for every kind: sync the catalogue, embed it, sync watch history, score
recommendations (plus a manual full reset), write the users' libraries. `GRAPH` declares its order
once; job names, the pipeline of `POST /api/pipelines/{kind}`, the follow-ups a step may ask for,
the webhook planner's jobs and the cards' prerequisites are all derived from it and the kind's names.

Adding a kind (checklist):
1. a package `sidecar/<kind>/` whose `__init__.py` defines one `MediaKind` (names, item types,
   collection type, schedules, the step functions);
2. one line in `sidecar/composition.py`: add it to `MEDIA_KINDS`.
Nothing in the core packages changes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sidecar.jobs.registry import JobDefinition, JobGraph

if TYPE_CHECKING:
    from sidecar.jobs.context import JobContext


class Step(StrEnum):
    """The roles of a media kind's jobs, in pipeline order."""

    SYNC = "sync"
    EMBEDDINGS = "embeddings"
    WATCH_HISTORY = "watch-history"
    RECOMMENDATIONS = "recommendations"
    FULL_RESET = "full-reset"
    LIBRARIES = "libraries"


# The job graph, declared once: each step and the steps it needs first (shown on the cards, used to
# order pipelines and to check follow-ups).
GRAPH: Mapping[Step, tuple[Step, ...]] = {
    Step.SYNC: (),
    Step.EMBEDDINGS: (Step.SYNC,),
    Step.WATCH_HISTORY: (Step.SYNC,),
    Step.RECOMMENDATIONS: (Step.EMBEDDINGS, Step.WATCH_HISTORY),
    Step.FULL_RESET: (Step.EMBEDDINGS, Step.WATCH_HISTORY),
    Step.LIBRARIES: (Step.RECOMMENDATIONS,),
}
MANUAL_ONLY = frozenset({Step.FULL_RESET})
VARIANTS: Mapping[Step, tuple[str, ...]] = {Step.WATCH_HISTORY: ("regular", "full")}

KindStep = Callable[["JobContext", "MediaKind"], Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True)
class MediaKind:
    """Everything that differs between media kinds."""

    name: str  # plural: category, pipeline name, "sync-{name}" ("movies", "series")
    singular: str  # "movie", "series": the other job names ("sync-{singular}-libraries", ...)
    item_types: frozenset[str]  # the servers' item types of this kind ("Movie")
    collection_type: str  # the servers' library collection type ("movies", "tvshows")
    steps: Mapping[Step, KindStep]  # the function that runs each step for this kind
    schedules: Mapping[Step, str] = field(default_factory=dict)  # default cron per step
    # The item a watch event is about: the event's item, else the one with its provider ids
    # (an AI Picks copy). Parameters: item id, TMDb id, IMDb id.
    original_item_query: str = ""
    # A user's current picks joined with their items, best first (the read endpoint). Columns: rank,
    # score, breakdown, evidence, explanation, generated_at, id, title, year, genres. Parameter: user id.
    picks_query: str = ""

    def job(self, step: Step) -> str:
        """The product's job name of `step` for this kind."""
        return {
            Step.SYNC: f"sync-{self.name}",
            Step.EMBEDDINGS: f"generate-{self.singular}-embeddings",
            Step.WATCH_HISTORY: f"sync-{self.singular}-watch-history",
            Step.RECOMMENDATIONS: f"generate-{self.singular}-recommendations",
            Step.FULL_RESET: f"full-reset-{self.singular}-recommendations",
            Step.LIBRARIES: f"sync-{self.singular}-libraries",
        }[step]

    def handles(self, item_type: str | None) -> bool:
        return item_type in self.item_types


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
    func = kind.steps[step]

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
