"""The ARQ worker: one run at a time (max_jobs=1), Postgres holds every run's state.

ARQ jobs are only wake-ups (see sidecar.jobs.queue); `execute_next_run` claims the oldest runnable run
from Postgres, so the queue is FIFO by submission whatever order ARQ delivers in. A PostgreSQL
advisory lock (worker/lock.py) makes this the only worker of its database; worker/resilient.py keeps
it running through a Redis outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import signal
import socket
from collections.abc import Sequence
from typing import Any

import structlog
from arq import cron
from arq.connections import ArqRedis
from arq.worker import Worker, func
from redis.asyncio import ConnectionPool

from sidecar.db import DATABASE_DOWN, create_pool
from sidecar.jobs import queries, schedules
from sidecar.jobs.executor import execute_run
from sidecar.jobs.queue import WORKER_FUNCTION, JobQueue
from sidecar.jobs.registry import JobRegistry
from sidecar.jobs.resources import JobResources
from sidecar.media.kind import MediaKind
from sidecar.settings import Settings
from worker.lock import WorkerLock, WorkerLockLost
from worker.recovery import clear_stale_in_progress, interrupt_orphaned_runs, recover
from worker.resilient import ResilientWorker
from worker.tick import run_tick

log = structlog.get_logger(__name__)

HEARTBEAT_SECONDS = 5.0
TICK_SECONDS = {0, 30}
JOB_TIMEOUT = dt.timedelta(days=2)  # ARQ's default (5 min) would kill a long embedding run
# How long a run whose database went away keeps trying to record that it failed (then the tick does).
OUTAGE_FINISH_SECONDS = 300.0
RUNS_PER_WAKEUP = 5  # a kind's webhook chain is three runs
OUTAGE_ERROR = (
    "PostgreSQL became unreachable during this run, so it stopped; check the database, then run it again"
)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def hold_lock(ctx: dict[str, Any]) -> None:
    """Check the worker lock. After taking it again, re-send every queued run's wake-up: claims find
    no lock while it is gone and drop their wake-ups, which would otherwise wait for the next tick."""
    if await ctx["lock"].check():
        resent = await ctx["queue"].sweep()
        log.info("wake-ups re-sent after the worker lock came back", wakeups_resent=resent)


async def _heartbeat(ctx: dict[str, Any]) -> None:
    while True:
        try:
            await hold_lock(ctx)
            await ctx["db"].execute(queries.HEARTBEAT, ctx["worker_id"])
        except WorkerLockLost as exc:
            log.error(str(exc))
            ctx["arq_worker"].handle_sig(signal.SIGTERM)
            return
        except Exception as exc:  # a database blip must not kill the heartbeat
            log.warning("heartbeat failed", error=str(exc))
        await asyncio.sleep(HEARTBEAT_SECONDS)


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx["settings"]
    registry: JobRegistry = ctx["registry"]
    ctx["worker_id"] = worker_id()
    ctx["lock"] = WorkerLock(ctx["database_url"])
    await ctx["lock"].acquire()  # waits while another worker runs: nothing below may overlap
    ctx["db"] = await create_pool(ctx["database_url"], max_size=5)
    ctx["queue"] = JobQueue(ctx["db"], ctx["redis"], settings.queue_name)
    # The backup job dumps the database the worker uses (embedded or configured).
    ctx["resources"] = JobResources(queue=ctx["queue"], kinds=ctx["kinds"], database_url=ctx["database_url"])
    await schedules.seed(ctx["db"], registry, settings.timezone)
    await ctx["db"].execute(queries.HEARTBEAT, ctx["worker_id"])
    recovered = await recover(ctx["db"], ctx["queue"], ctx["worker_id"])
    ctx["heartbeat"] = asyncio.create_task(_heartbeat(ctx))
    log.info("worker started", worker_id=ctx["worker_id"], **recovered)


async def shutdown(ctx: dict[str, Any]) -> None:
    heartbeat = ctx.get("heartbeat")
    if heartbeat is not None:
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat
    if "db" in ctx:
        with contextlib.suppress(*DATABASE_DOWN):
            await ctx["db"].execute(queries.DELETE_HEARTBEAT, ctx["worker_id"])
        await ctx["db"].close()
    if "lock" in ctx:
        await ctx["lock"].release()
    log.info("worker stopped")


async def on_redis_back(ctx: dict[str, Any]) -> None:
    """After a Redis outage: markers of wake-ups nobody runs go, every queued run is woken again."""
    worker: ResilientWorker = ctx["arq_worker"]
    cleared = await clear_stale_in_progress(ctx["queue"], keep=set(worker.tasks))
    resent = await ctx["queue"].sweep()
    log.info("queue resumed after the redis outage", wakeups_resent=resent, stale_markers_cleared=cleared)


async def _record_outage_failure(ctx: dict[str, Any], run_id: Any) -> None:
    """The run's end could not be written: keep trying while PostgreSQL comes back, then give up
    (the tick's recovery fails it once the database answers)."""
    deadline = asyncio.get_running_loop().time() + OUTAGE_FINISH_SECONDS
    delay = 0.5
    while asyncio.get_running_loop().time() < deadline:
        try:
            await ctx["db"].execute(queries.FAIL_RUNNING_RUN, run_id, OUTAGE_ERROR)
            log.error("run failed: database unreachable during the run", run_id=str(run_id))
            return
        except DATABASE_DOWN:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


async def execute_next_run(ctx: dict[str, Any]) -> str | None:
    """Claim and run the oldest runnable run; then, while another one is ready (a follow-up the run
    just queued, a step it released), run that too instead of waiting for its wake-up's poll: a
    webhook's chain of three steps paid a poll and a Redis round trip per step. At most
    RUNS_PER_WAKEUP runs, so the scheduler's tick (another ARQ job) is never held back long."""
    done = []
    for _ in range(RUNS_PER_WAKEUP):
        if not await _lock_held(ctx):
            break
        run = await ctx["db"].fetchrow(queries.CLAIM_NEXT_RUN, ctx["worker_id"])
        if run is None:
            break  # a stale wake-up (cancelled, merged, waiting for a step, done) or nothing more
        summary, database_up = await _execute(ctx, run)
        done.append(summary)
        if not database_up:
            break
    return "; ".join(done) or None


async def _lock_held(ctx: dict[str, Any]) -> bool:
    if ctx["lock"].held:
        return True
    # The lock's session ended (a PostgreSQL restart): take it again now rather than drop this
    # wake-up. Still down, or another worker has it: claim nothing (the heartbeat re-takes the lock
    # and re-sends the wake-ups, or stops this worker).
    try:
        await hold_lock(ctx)
    except (WorkerLockLost, *DATABASE_DOWN):
        return False
    return True


async def _execute(ctx: dict[str, Any], run: Any) -> tuple[str, bool]:
    """Run one claimed run: (what happened, whether PostgreSQL stayed reachable)."""
    try:
        final = await execute_run(
            run, registry=ctx["registry"], settings=ctx["settings"], db=ctx["db"], resources=ctx["resources"]
        )
    except DATABASE_DOWN:
        await _record_outage_failure(ctx, run["id"])
        return f"{run['job']} failed: database unreachable", False
    # Steps waiting for this one were skipped by the claim until now: wake them.
    for step in await ctx["db"].fetch(queries.QUEUED_DEPENDENTS, run["id"]):
        await ctx["queue"].wake(step["id"], step["not_before"])
    return f"{final['job']} {final['status']}", True


async def scheduler_tick(ctx: dict[str, Any]) -> None:
    await interrupt_orphaned_runs(ctx["db"], ctx["worker_id"])
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
    # A pool that connects on first use: the worker starts, and keeps running, while Redis is down.
    redis = ArqRedis(ConnectionPool.from_url(redis_url), default_queue_name=settings.queue_name)
    return ResilientWorker(
        functions=[func(execute_next_run, name=WORKER_FUNCTION, max_tries=1)],
        cron_jobs=[cron(scheduler_tick, second=TICK_SECONDS, run_at_startup=True, unique=True)],
        redis_pool=redis,
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
        on_redis_back=on_redis_back,
        ctx={
            "settings": settings,
            "registry": registry,
            "database_url": database_url,
            "kinds": tuple(kinds),
        },
    )
