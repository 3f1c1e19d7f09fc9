"""The job card of the API: definition + live state + schedule."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from sidecar.jobs import queries, schedules
from sidecar.jobs.registry import JobDefinition, JobRegistry
from sidecar.jobs.runs import run_to_api


def job_state(current_run: dict[str, Any] | None, queued_runs: int, last_run: dict[str, Any] | None) -> str:
    if current_run is not None:
        return "running"
    if queued_runs:
        return "queued"
    if last_run is not None:
        return str(last_run["status"])
    return "idle"


def _card(
    d: JobDefinition, stats: asyncpg.Record | None, schedule: asyncpg.Record | None, now: dt.datetime
) -> dict[str, Any]:
    current = stats["current_run"] if stats else None
    last = stats["last_run"] if stats else None
    queued = int(stats["queued_runs"]) if stats else 0
    return {
        "name": d.name,
        "title": d.title,
        "category": d.category,
        "description": d.description,
        "state": job_state(current, queued, last),
        "manual_only": d.manual_only,
        "variants": list(d.variants),
        "prerequisites": list(d.prerequisites),
        "schedule": schedules.schedule_to_api(schedule, now),
        "last_run": run_to_api(last, now) if last else None,
        "current_run": run_to_api(current, now) if current else None,
        "queued_runs": queued,
    }


async def job_cards(
    db: asyncpg.Pool, registry: JobRegistry, names: list[str] | None = None
) -> list[dict[str, Any]]:
    """Cards in pipeline order, built with two queries whatever the number of jobs."""
    definitions = [d for d in registry if names is None or d.name in names]
    stats = {r["job"]: r for r in await db.fetch(queries.JOB_CARD_STATS, [d.name for d in definitions])}
    sched = await schedules.load(db)
    now = dt.datetime.now(dt.UTC)
    return [_card(d, stats.get(d.name), sched.get(d.name), now) for d in definitions]
