"""Job definitions: what a job is called, how it shows on a dashboard, and the function that runs it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sidecar.jobs.context import JobContext

JobFunction = Callable[["JobContext"], Awaitable[dict[str, Any] | None]]
# Told about every run that ended (its final row, and the run's context for db/settings/log); e.g.
# notifications. A hook's failure is logged by the executor and never changes the run.
FinishHook = Callable[[Any, "JobContext"], Awaitable[None]]


@dataclass(frozen=True)
class JobDefinition:
    name: str
    title: str
    category: str
    description: str
    func: JobFunction
    variants: tuple[str, ...] = ("regular",)
    manual_only: bool = False
    prerequisites: tuple[str, ...] = ()
    default_schedule: str | None = None  # cron, in the configured timezone
    order: int = 100  # position on the dashboard within its category

    def __post_init__(self) -> None:
        if self.manual_only and self.default_schedule:
            raise ValueError(f"job {self.name} is manual-only and cannot have a default schedule")
        if not self.variants:
            raise ValueError(f"job {self.name} needs at least one variant")


@dataclass(frozen=True)
class JobGraph:
    """Jobs that form a pipeline, each naming its prerequisites: declared once, everything derived.

    The pipeline (`POST /api/pipelines/{name}`) is every job that is not manual-only, in declared
    order; a job must come after its prerequisites.
    """

    name: str
    jobs: tuple[JobDefinition, ...]

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for d in self.jobs:
            missing = [p for p in d.prerequisites if p not in seen]
            if missing:
                raise ValueError(f"{d.name} is declared before its prerequisites {missing} in {self.name}")
            seen.add(d.name)

    @property
    def pipeline(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.jobs if not d.manual_only)


@dataclass
class JobRegistry:
    """Jobs by name, and the graphs (pipelines) they belong to."""

    _jobs: dict[str, JobDefinition] = field(default_factory=dict)
    _graphs: dict[str, JobGraph] = field(default_factory=dict)
    finish_hooks: list[FinishHook] = field(default_factory=list)

    def register(self, definition: JobDefinition) -> JobDefinition:
        if definition.name in self._jobs:
            raise ValueError(f"job {definition.name} is already registered")
        self._jobs[definition.name] = definition
        return definition

    def register_graph(self, graph: JobGraph) -> None:
        if graph.name in self._graphs:
            raise ValueError(f"pipeline {graph.name} is already registered")
        for definition in graph.jobs:
            self.register(definition)
        self._graphs[graph.name] = graph

    def pipeline(self, name: str) -> tuple[str, ...] | None:
        graph = self._graphs.get(name)
        return graph.pipeline if graph is not None else None

    @property
    def pipelines(self) -> list[str]:
        return list(self._graphs)

    def is_downstream(self, job: str, of: str) -> bool:
        """Whether `job` needs `of` first, directly or through its other prerequisites."""
        definition = self._jobs.get(job)
        if definition is None:
            return False
        return any(p == of or self.is_downstream(p, of) for p in definition.prerequisites)

    def on_run_finished(self, hook: FinishHook) -> None:
        self.finish_hooks.append(hook)

    def get(self, name: str) -> JobDefinition | None:
        return self._jobs.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._jobs

    def __iter__(self) -> Iterator[JobDefinition]:
        categories: dict[str, int] = {}
        for d in self._jobs.values():
            categories.setdefault(d.category, len(categories))
        return iter(sorted(self._jobs.values(), key=lambda d: (categories[d.category], d.order)))

    def __len__(self) -> int:
        return len(self._jobs)
