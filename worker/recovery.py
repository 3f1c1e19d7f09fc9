"""What the worker puts right: runs a gone worker left `running`, wake-ups and markers Redis lost or kept.

Runs at start-up (after the worker lock is held) and on every tick, so a run whose worker died, or
whose end could not be written while PostgreSQL was down, never stays `running`.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import structlog
from arq.constants import in_progress_key_prefix

from sidecar.jobs import queries, runs
from sidecar.jobs.queue import JobQueue
from sidecar.jobs.runs import WORKER_STALE_AFTER
from worker.resilient import REDIS_DOWN

log = structlog.get_logger(__name__)


async def interrupt_orphaned_runs(db: asyncpg.Pool, worker_id: str) -> list[str]:
    """Fail runs left `running` by a worker without a fresh heartbeat, and this worker's own leftovers.

    This worker runs one ARQ job at a time (the tick is one of them), so whenever this is called no
    run of its own is executing: a run still `running` under its id lost its end to an outage."""
    interrupted = await db.fetch(queries.INTERRUPT_ORPHANED_RUNS, worker_id, WORKER_STALE_AFTER)
    for row in interrupted:
        await runs.append_log(db, row["id"], "error", row["error"])
        log.warning("run interrupted: its worker is gone", run_id=str(row["id"]), job=row["job"])
    return [str(r["id"]) for r in interrupted]


async def clear_stale_in_progress(queue: JobQueue, keep: set[str] | None = None) -> int:
    """Delete ARQ's in-progress markers of queued wake-ups that nobody runs (a killed worker's), which
    would otherwise block those wake-ups for the whole job timeout. Only this queue's jobs."""
    if queue.redis is None:
        return 0
    job_ids = [j.decode() for j in await queue.redis.zrange(queue.queue_name, 0, -1)]
    keys = [in_progress_key_prefix + j for j in job_ids if j not in (keep or set())]
    return int(await queue.redis.delete(*keys)) if keys else 0


async def recover(db: asyncpg.Pool, queue: JobQueue, worker_id: str) -> dict[str, Any]:
    """Start-up, with the worker lock held: no other worker can be alive, so their heartbeats go and
    their runs are interrupted; then stale markers are cleared and every queued run is woken again."""
    await db.execute(queries.FORGET_OTHER_WORKERS, worker_id)
    interrupted = await interrupt_orphaned_runs(db, worker_id)
    cleared = 0
    try:
        cleared = await clear_stale_in_progress(queue)
    except REDIS_DOWN as exc:
        log.warning(
            "redis unreachable at start-up; stale markers are cleared when it is back", error=str(exc)
        )
    resent = await queue.sweep()
    return {"interrupted": interrupted, "stale_markers_cleared": cleared, "wakeups_resent": resent}
