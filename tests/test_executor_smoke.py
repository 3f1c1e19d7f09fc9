"""Executor basics against the real database: completion, failures, bad items, the API shape."""

from __future__ import annotations

from typing import Any

import asyncpg

from sidecar.jobs.context import JobContext, JobError
from sidecar.jobs.executor import run_inline
from sidecar.jobs.registry import JobDefinition, JobRegistry
from sidecar.jobs.runs import run_to_api
from sidecar.settings import Settings


def _registry(func: Any) -> JobRegistry:
    registry = JobRegistry()
    registry.register(JobDefinition(name="t", title="T", category="test", description="", func=func))
    return registry


async def test_completed_run_keeps_exact_figures_and_result(db: asyncpg.Pool, settings: Settings) -> None:
    async def job(ctx: JobContext) -> dict[str, Any]:
        await ctx.step("Counting", total=10)
        for i in range(10):
            if i == 3:
                await ctx.item_failed("item 3", "bad data")
            else:
                await ctx.advance()
        return {"counted": 9}

    row = await run_inline(db, _registry(job), settings, "t")
    run = run_to_api(row)
    assert run["status"] == "completed"
    assert run["result"] == {"counted": 9}
    assert run["progress"]["items_processed"] == 10
    assert run["progress"]["items_failed"] == 1
    assert run["progress"]["percent"] == 100.0
    assert run["finished_at"].endswith("Z")
    levels = [r["level"] for r in await db.fetch("SELECT level FROM job_run_logs WHERE run_id=$1", row["id"])]
    assert "warning" in levels


async def test_job_error_fails_run_with_its_message(db: asyncpg.Pool, settings: Settings) -> None:
    async def job(ctx: JobContext) -> None:
        raise JobError("the media server rejected the API key; check SIDECAR_MEDIA_SERVER_API_KEY")

    row = await run_inline(db, _registry(job), settings, "t")
    assert row["status"] == "failed"
    assert "rejected the API key" in row["error"]
