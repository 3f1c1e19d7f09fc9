"""Test jobs with controllable behaviour, and helpers to drive the real worker and API."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from sidecar.jobs.context import JobContext, JobError
from sidecar.jobs.registry import JobDefinition, JobRegistry
from sidecar.settings import Settings
from worker.main import build_worker


@dataclass
class Recorder:
    """What the test jobs did, in order, seen from inside the worker."""

    events: list[tuple[str, str]] = field(default_factory=list)  # (job, "start"/"end")
    calls: dict[str, int] = field(default_factory=dict)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def mark(self, job: str, what: str) -> None:
        self.events.append((job, what))
        if what == "start":
            self.calls[job] = self.calls.get(job, 0) + 1

    def order(self, what: str = "start") -> list[str]:
        return [job for job, w in self.events if w == what]


def make_registry(rec: Recorder, extra: list[JobDefinition] | None = None) -> JobRegistry:
    async def quick(ctx: JobContext) -> dict[str, Any]:
        rec.mark(ctx.job, "start")
        await ctx.step("Working", total=1)
        await ctx.advance()
        rec.mark(ctx.job, "end")
        return {"done": 1}

    async def blocker(ctx: JobContext) -> dict[str, Any]:
        """Holds the worker until the test releases it (cooperatively cancellable)."""
        rec.mark(ctx.job, "start")
        await ctx.step("Blocking")
        while not rec.release.is_set():
            ctx.raise_if_cancelled()
            await asyncio.sleep(0.02)
            await ctx.advance(0)
        rec.mark(ctx.job, "end")
        return {}

    async def stubborn(ctx: JobContext) -> dict[str, Any]:
        """Never looks at the cancel flag."""
        rec.mark(ctx.job, "start")
        try:
            await asyncio.sleep(3600)
        finally:
            rec.mark(ctx.job, "end")
        return {}

    async def fails(ctx: JobContext) -> dict[str, Any]:
        rec.mark(ctx.job, "start")
        await ctx.info("about to fail", detail="on purpose")
        raise JobError("the thing failed; check the thing")

    async def chatty(ctx: JobContext) -> dict[str, Any]:
        rec.mark(ctx.job, "start")
        for i in range(25):
            await ctx.info(f"line {i}")
        return {}

    def d(name: str, func: Any, **kw: Any) -> JobDefinition:
        return JobDefinition(
            name=name, title=name.title(), category="test", description=name, func=func, **kw
        )

    registry = JobRegistry()
    for definition in [
        d("blocker", blocker),
        d("quick-a", quick),
        d("quick-b", quick, variants=("regular", "full")),
        d("quick-c", quick),
        d("stubborn", stubborn),
        d("fails", fails),
        d("chatty", chatty),
        d("manual", quick, manual_only=True),
        d("scheduled", quick, default_schedule="*/5 * * * *"),
        *(extra or []),
    ]:
        registry.register(definition)
    return registry


@contextlib.asynccontextmanager
async def running_worker(
    settings: Settings, database_url: str, redis_url: str, registry: JobRegistry
) -> AsyncIterator[Any]:
    worker = build_worker(
        settings, database_url=database_url, redis_url=redis_url, registry=registry, handle_signals=False
    )
    task = asyncio.create_task(worker.async_run())
    try:
        yield worker
    finally:
        # arq's close() re-raises the CancelledError of the tasks it cancels (a cron tick mid-run).
        with contextlib.suppress(asyncio.CancelledError):
            await worker.close()
        task.cancel()
        with contextlib.suppress(BaseException):
            await task


async def wait_for(check: Callable[[], Awaitable[Any]], within: float = 15.0, interval: float = 0.05) -> Any:
    """Poll until `check()` returns something truthy; fail the test on timeout."""
    deadline = time.monotonic() + within
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(interval)


async def run_status(db: asyncpg.Pool, run_id: str) -> str:
    return await db.fetchval("SELECT status FROM job_runs WHERE id = $1::uuid", run_id)


async def wait_status(db: asyncpg.Pool, run_id: str, *statuses: str, within: float = 15.0) -> asyncpg.Record:
    async def check() -> asyncpg.Record | None:
        row = await db.fetchrow("SELECT * FROM job_runs WHERE id = $1::uuid", run_id)
        return row if row is not None and row["status"] in statuses else None

    return await wait_for(check, within)
