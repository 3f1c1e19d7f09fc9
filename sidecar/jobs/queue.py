"""Submitting runs: the row goes to Postgres first, then ARQ gets a wake-up for the worker.

ARQ carries no state of ours. Each ARQ job only says "a run may be ready"; the worker then claims
the oldest runnable run from Postgres. So a wake-up lost while Redis was down costs nothing: the
worker's sweep re-sends wake-ups for every queued run when it can reach Redis again.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Unpack

import asyncpg
import structlog
from arq.connections import ArqRedis

from sidecar.jobs import queries, runs

log = structlog.get_logger(__name__)

WORKER_FUNCTION = "execute_next_run"


def wake_job_id(run_id: uuid.UUID, not_before: dt.datetime | None) -> str:
    """One wake-up per run and start time: a debounced run that moved later gets a new one."""
    return f"run:{run_id}" + (f":{not_before.timestamp():.3f}" if not_before else "")


class JobQueue:
    def __init__(self, db: asyncpg.Pool, redis: ArqRedis | None, queue_name: str) -> None:
        self.db = db
        self.redis = redis
        self.queue_name = queue_name

    async def submit(self, job: str, **options: Unpack[runs.RunOptions]) -> tuple[asyncpg.Record, bool]:
        """Queue a run (or join the one already queued) and wake the worker. Returns (run, created).

        Options as `runs.create_run`: variant, trigger, scope, depends_on, not_before, max_slide."""
        row, created = await runs.create_run(self.db, job, **options)
        await self.wake(row["id"], row["not_before"])
        return row, created

    async def wake(self, run_id: uuid.UUID, not_before: dt.datetime | None = None) -> bool:
        """Best effort: False when Redis is unreachable (the run stays queued in Postgres)."""
        if self.redis is None:
            return False
        try:
            await self.redis.enqueue_job(
                WORKER_FUNCTION,
                _job_id=wake_job_id(run_id, not_before),
                _queue_name=self.queue_name,
                _defer_until=not_before,
            )
            return True
        except (OSError, ConnectionError, TimeoutError) as exc:
            log.warning(
                "redis unreachable; the run stays queued and is sent when redis is back",
                run_id=str(run_id),
                error=str(exc),
            )
            return False
        except Exception as exc:  # redis-py raises its own ConnectionError hierarchy
            if type(exc).__module__.startswith("redis"):
                log.warning(
                    "redis unreachable; the run stays queued and is sent when redis is back",
                    run_id=str(run_id),
                    error=str(exc),
                )
                return False
            raise

    async def sweep(self) -> int:
        """Re-send a wake-up for every queued run (after Redis restarted or was flushed)."""
        sent = 0
        for row in await self.db.fetch(queries.QUEUED_RUNS_FOR_SWEEP):
            if await self.wake(row["id"], row["not_before"]):
                sent += 1
        return sent
