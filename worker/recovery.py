"""What the worker puts right when it starts: runs a dead worker left behind."""

from __future__ import annotations

from typing import Any

import asyncpg
import structlog

from sidecar.jobs import queries, runs
from sidecar.jobs.queue import JobQueue

log = structlog.get_logger(__name__)


async def recover(db: asyncpg.Pool, queue: JobQueue) -> dict[str, Any]:
    """Fail runs left `running` (only one worker exists, so they are orphans), then re-send wake-ups
    for every queued run in case Redis lost them (restart, flush)."""
    interrupted = await db.fetch(queries.INTERRUPT_RUNNING)
    for row in interrupted:
        await runs.append_log(db, row["id"], "error", row["error"])
        log.warning("run interrupted by a worker restart", run_id=str(row["id"]), job=row["job"])
    resent = await queue.sweep()
    return {"interrupted": [str(r["id"]) for r in interrupted], "wakeups_resent": resent}
