"""The ARQ worker: one run at a time (max_jobs=1), Postgres holds every run's state.

ARQ jobs are only wake-ups (see sidecar.jobs.queue); `execute_next_run` claims the oldest runnable run
from Postgres, so the queue is FIFO by submission whatever order ARQ delivers in.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import socket
from collections.abc import Sequence
from typing import Any

import structlog
from arq import cron
from arq.connections import RedisSettings
from arq.worker import Worker, func

from sidecar.db import create_pool
from sidecar.jobs import queries, schedules
from sidecar.jobs.executor import execute_run
from sidecar.jobs.queue import WORKER_FUNCTION, JobQueue
from sidecar.jobs.registry import JobRegistry
from sidecar.jobs.resources import JobResources
from sidecar.media.kind import MediaKind
from sidecar.settings import Settings
from worker.recovery import recover
from worker.tick import run_tick

log = structlog.get_logger(__name__)

HEARTBEAT_SECONDS = 5.0
TICK_SECONDS = {0, 30}
JOB_TIMEOUT = dt.timedelta(days=2)  # ARQ's default (5 min) would kill a long embedding run


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def _heartbeat(ctx: dict[str, Any]) -> None:
    while True:
        try:
            await ctx["db"].execute(queries.HEARTBEAT, ctx["worker_id"])
        except Exception as exc:  # a database blip must not kill the heartbeat
            log.warning("heartbeat failed", error=str(exc))
        await asyncio.sleep(HEARTBEAT_SECONDS)


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx["settings"]
    registry: JobRegistry = ctx["registry"]
    ctx["worker_id"] = worker_id()
    ctx["db"] = await create_pool(ctx["database_url"], max_size=5)
    ctx["queue"] = JobQueue(ctx["db"], ctx["redis"], settings.queue_name)
    # The backup job dumps the database the worker uses (embedded or configured).
    ctx["resources"] = JobResources(queue=ctx["queue"], kinds=ctx["kinds"], database_url=ctx["database_url"])
    await schedules.seed(ctx["db"], registry, settings.timezone)
    recovered = await recover(ctx["db"], ctx["queue"])
    ctx["heartbeat"] = asyncio.create_task(_heartbeat(ctx))
    log.info("worker started", worker_id=ctx["worker_id"], **recovered)


async def shutdown(ctx: dict[str, Any]) -> None:
    heartbeat = ctx.get("heartbeat")
    if heartbeat is not None:
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat
    if "db" in ctx:
        await ctx["db"].execute(queries.DELETE_HEARTBEAT, ctx["worker_id"])
        await ctx["db"].close()
    log.info("worker stopped")


async def execute_next_run(ctx: dict[str, Any]) -> str | None:
    run = await ctx["db"].fetchrow(queries.CLAIM_NEXT_RUN, ctx["worker_id"])
    if run is None:
        return None  # a stale wake-up: its run was cancelled, merged or already done
    final = await execute_run(
        run, registry=ctx["registry"], settings=ctx["settings"], db=ctx["db"], resources=ctx["resources"]
    )
    return f"{final['job']} {final['status']}"


async def scheduler_tick(ctx: dict[str, Any]) -> None:
    await run_tick(ctx["db"], ctx["queue"], ctx["registry"], settings=ctx["settings"], kinds=ctx["kinds"])


def build_worker(
    settings: Settings,
    *,
    database_url: str,
    redis_url: str,
    registry: JobRegistry,
    kinds: Sequence[MediaKind] = (),
    handle_signals: bool = True,
) -> Worker:
    """The worker running `registry`'s jobs; `kinds` lets its tick re-plan stored webhook events."""
    return Worker(
        functions=[func(execute_next_run, name=WORKER_FUNCTION, max_tries=1)],
        cron_jobs=[cron(scheduler_tick, second=TICK_SECONDS, run_at_startup=True, unique=True)],
        redis_settings=RedisSettings.from_dsn(redis_url),
        queue_name=settings.queue_name,
        max_jobs=1,
        keep_result=0,
        job_timeout=JOB_TIMEOUT,
        max_tries=1,
        retry_jobs=False,  # no automatic retry, not even after a shutdown
        poll_delay=0.2,
        on_startup=startup,
        on_shutdown=shutdown,
        handle_signals=handle_signals,
        ctx={
            "settings": settings,
            "registry": registry,
            "kinds": tuple(kinds),
            "database_url": database_url,
        },
    )
