"""Execute one claimed run: prerequisites, the job function, cancellation, and the final state.

The worker calls `execute_run` for each run it claims; tests and `sidecar run --inline` call
`run_inline`, so both paths share every state transition.
"""

from __future__ import annotations

import asyncio
import contextlib
import traceback
import uuid
from typing import Any

import asyncpg
import structlog

from sidecar.jobs import queries, runs
from sidecar.jobs.context import JobCancelled, JobContext, JobError
from sidecar.jobs.registry import JobRegistry
from sidecar.jobs.resources import JobResources
from sidecar.logs import redact_text
from sidecar.settings import Settings

log = structlog.get_logger(__name__)
CANCEL_POLL_SECONDS = 0.5


async def _watch_cancel(ctx: JobContext, task: asyncio.Task[Any], grace: float) -> None:
    """Turn a cancel request into the cooperative flag, then into an abort after the grace period."""
    while not await ctx.db.fetchval(queries.IS_CANCEL_REQUESTED, ctx.run_id):
        await asyncio.sleep(CANCEL_POLL_SECONDS)
    ctx.mark_cancelled()
    await ctx.info("cancel requested; stopping at the next safe point")
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout=grace)
    except TimeoutError:
        await ctx.warning(f"the job did not stop within {grace:g} s of the cancel request; aborting it")
        task.cancel()
    except BaseException:  # the task's own outcome is handled by execute_run
        pass


async def _finish(
    db: asyncpg.Pool, ctx: JobContext, status: str, result: dict[str, Any] | None, error: str | None
) -> asyncpg.Record:
    row = await db.fetchrow(
        queries.FINISH_RUN,
        ctx.run_id,
        status,
        result,
        error,
        ctx.current_step,
        ctx.items_processed,
        ctx.items_total,
        ctx.items_failed,
    )
    ctx.log.info("run finished", status=status, error=error, result=result)
    return row


async def execute_run(
    run: asyncpg.Record,
    *,
    registry: JobRegistry,
    settings: Settings,
    db: asyncpg.Pool,
    resources: JobResources | None = None,
) -> asyncpg.Record:
    """Run a claimed (`running`) run to its end state and return the final row."""
    run_id: uuid.UUID = run["id"]
    ctx = JobContext(
        run_id=run_id,
        job=run["job"],
        variant=run["variant"],
        trigger=run["trigger"],
        scope=run["scope"],
        settings=settings,
        db=db,
        resources=resources,
    )
    definition = registry.get(run["job"])
    if definition is None:
        final = await _finish(
            db, ctx, "failed", None, f"unknown job {run['job']!r}: it is not registered in this version"
        )
        await _tell_hooks(registry, final, ctx)
        return final
    if run["depends_on"] is not None:
        prerequisite = await runs.get_run(db, run["depends_on"])
        if prerequisite is None or prerequisite["status"] != "completed":
            name = prerequisite["job"] if prerequisite else "step"
            return await _finish(db, ctx, "cancelled", None, f"prerequisite {name} did not complete")

    structlog.contextvars.bind_contextvars(run_id=str(run_id), job=run["job"])
    await ctx.info("run started", variant=run["variant"], trigger=run["trigger"], scope=run["scope"])
    task = asyncio.create_task(definition.func(ctx), name=f"job:{run['job']}:{run_id}")
    watcher = asyncio.create_task(_watch_cancel(ctx, task, settings.cancel_grace_seconds))
    status, error, returned = "failed", None, None
    try:
        returned = await task
        status = "completed"
    except JobCancelled:
        status, error = "cancelled", "cancelled on request"
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            # The worker itself is stopping: let the job wind down, record why, then stop too.
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            await _finish(db, ctx, "failed", None, "interrupted: the worker stopped during this run")
            raise
        status = "cancelled"
        error = f"cancelled on request (aborted after {settings.cancel_grace_seconds:g} s)"
    except JobError as exc:
        error = redact_text(str(exc))
        await ctx.error(error)
    except Exception as exc:
        error = redact_text(
            f"unexpected error in {run['job']}: {type(exc).__name__}: {exc}. The run log has the details."
        )
        await ctx.error(error, traceback=traceback.format_exc(limit=20))
    finally:
        watcher.cancel()
        with contextlib.suppress(BaseException):
            await watcher
        structlog.contextvars.unbind_contextvars("run_id", "job")
    result = {**ctx.result, **(returned or {})} or None
    if status == "completed" and ctx.follow_ups:
        result = {**(result or {}), "follow_ups": await _submit_follow_ups(ctx, registry)}
    final = await _finish(db, ctx, status, result, error)
    await _tell_hooks(registry, final, ctx)
    return final


async def _tell_hooks(registry: JobRegistry, final: asyncpg.Record | None, ctx: JobContext) -> None:
    """Finish hooks (notifications): their failure is logged and never changes the run."""
    if final is None:
        return
    for hook in registry.finish_hooks:
        try:
            await hook(final, ctx)
        except Exception as exc:
            ctx.log.warning(
                "run finish hook failed", hook=getattr(hook, "__name__", repr(hook)), error=str(exc)
            )


async def _submit_follow_ups(ctx: JobContext, registry: JobRegistry) -> list[dict[str, Any]]:
    """Queue what the run asked for; inline runs without a queue just report it.

    Only later steps of the job graph: a follow-up the graph does not allow is a bug in the step,
    logged instead of queued (it could run a job before what it needs, or loop)."""
    queue = ctx.resources.queue
    submitted = []
    for follow_up in ctx.follow_ups:
        if not registry.is_downstream(follow_up.job, of=ctx.job):
            await ctx.error(f"follow-up {follow_up.job} is not a later step of {ctx.job}; not queued")
            continue
        entry: dict[str, Any] = {"job": follow_up.job, "variant": follow_up.variant, "scope": follow_up.scope}
        if queue is not None:
            row, _ = await queue.submit(
                follow_up.job, variant=follow_up.variant, trigger=ctx.trigger, scope=follow_up.scope
            )
            entry["run_id"] = str(row["id"])
        submitted.append(entry)
    return submitted


async def run_inline(
    db: asyncpg.Pool,
    registry: JobRegistry,
    settings: Settings,
    job: str,
    *,
    variant: str = "regular",
    trigger: str = "manual",
    scope: dict[str, Any] | None = None,
    resources: JobResources | None = None,
) -> asyncpg.Record:
    """Queue a run and execute it here and now, without the queue (tests, `sidecar run --inline`)."""
    row, _ = await runs.create_run(db, job, variant=variant, trigger=trigger, scope=scope)
    claimed = await db.fetchrow(queries.CLAIM_RUN, row["id"], "inline")
    if claimed is None:
        raise RuntimeError(f"run {row['id']} was taken by a worker before it could run inline")
    return await execute_run(claimed, registry=registry, settings=settings, db=db, resources=resources)
