"""The worker's periodic tick: enqueue due schedules and re-send lost wake-ups."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Sequence

import asyncpg
import structlog

from sidecar.jobs import schedules
from sidecar.jobs.queue import JobQueue
from sidecar.jobs.registry import JobRegistry
from sidecar.media.kind import MediaKind
from sidecar.settings import Settings
from webhooks.planner import new_submitter, replan_unplanned

log = structlog.get_logger(__name__)


async def run_tick(
    db: asyncpg.Pool,
    queue: JobQueue,
    registry: JobRegistry,
    now: dt.datetime | None = None,
    settings: Settings | None = None,
    kinds: Sequence[MediaKind] = (),
) -> list[str]:
    """Returns the ids of the runs queued for due schedules (an already queued run is reused).

    With settings, also plans webhook events stored but never planned (the web process died
    between storing and queueing)."""
    now = now or dt.datetime.now(dt.UTC)
    queued: list[str] = []
    # Each part on its own: a failing one (a bad schedule row, a database blip) must not starve the
    # others, above all the re-planning of stored webhooks and the re-sending of lost wake-ups.
    async with _part("schedules"):
        for job in await schedules.claim_due(db, registry, now):
            row, created = await queue.submit(job, trigger="schedule")
            log.info("schedule due", job=job, run_id=str(row["id"]), joined_existing=not created)
            queued.append(str(row["id"]))
    if settings is not None:
        async with _part("webhook re-planning"):
            await replan_unplanned(db, queue, new_submitter(), settings, kinds)
    async with _part("wake-up sweep"):
        await queue.sweep()
    return queued


@contextlib.asynccontextmanager
async def _part(name: str) -> AsyncIterator[None]:
    try:
        yield
    except Exception as exc:
        log.error(
            "tick step failed; the next tick tries again", step=name, error=f"{type(exc).__name__}: {exc}"
        )
