"""Job definitions: what a job is called, how it shows on a dashboard, and the function that runs it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sidecar.jobs.context import JobContext

JobFunction = Callable[["JobContext"], Awaitable[dict[str, Any] | None]]


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


@dataclass
class JobRegistry:
    """Jobs by name, in registration order (the pipeline order for the built-in movie jobs)."""

    _jobs: dict[str, JobDefinition] = field(default_factory=dict)

    def register(self, definition: JobDefinition) -> JobDefinition:
        if definition.name in self._jobs:
            raise ValueError(f"job {definition.name} is already registered")
        self._jobs[definition.name] = definition
        return definition

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
