"""The jobs this build knows: every media type's jobs in one registry."""

from __future__ import annotations

from sidecar.jobs.registry import JobRegistry
from sidecar.movies.jobs import register_movie_jobs


def default_registry() -> JobRegistry:
    registry = JobRegistry()
    register_movie_jobs(registry)
    return registry
