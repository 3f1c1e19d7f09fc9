"""Run lifecycle in Postgres: create (with dedupe and scope merging), cancel, read, and the API shape."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any, TypedDict

import asyncpg

from sidecar.jobs import queries

ACTIVE = ("queued", "running")
FINISHED = ("completed", "failed", "cancelled")
TRIGGERS = ("manual", "schedule", "webhook", "pipeline")
# Workers beat every 5 s; one silent this long is gone (health reports it, recovery frees its runs).
WORKER_STALE_AFTER = dt.timedelta(seconds=30)


def iso(value: dt.datetime | None) -> str | None:
    """ISO-8601 in UTC with a `Z`, as the API contract says."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _parse_ts(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(value)


def run_to_api(row: asyncpg.Record | dict[str, Any], now: dt.datetime | None = None) -> dict[str, Any]:
    """A job_runs row (or its to_jsonb form) as the API's `Run` object."""
    r = dict(row)
    queued_at, started_at, finished_at = (_parse_ts(r[k]) for k in ("queued_at", "started_at", "finished_at"))
    now = now or dt.datetime.now(dt.UTC)
    duration_ms = elapsed_ms = None
    if started_at is not None:
        end = finished_at or now
        elapsed_ms = max(0, int((end - started_at).total_seconds() * 1000))
        if finished_at is not None:
            duration_ms = elapsed_ms
    total, done = r["items_total"], r["items_processed"]
    if r["status"] == "completed":
        percent: float | None = 100.0
    elif total:
        percent = round(min(100.0, 100.0 * done / total), 1)
    else:
        percent = 0.0 if r["status"] in ("queued", "running") else None
    return {
        "id": str(r["id"]),
        "job": r["job"],
        "variant": r["variant"],
        "trigger": r["trigger"],
        "status": r["status"],
        "scope": r["scope"],
        "queued_at": iso(queued_at),
        "started_at": iso(started_at),
        "finished_at": iso(finished_at),
        "duration_ms": duration_ms,
        "progress": {
            "percent": percent,
            "current_step": r["current_step"],
            "items_processed": done,
            "items_total": total,
            "items_failed": r["items_failed"],
            "elapsed_ms": elapsed_ms,
        },
        "result": r["result"],
        "error": r["error"],
        "cancel_requested": r["cancel_requested"],
        "depends_on": str(r["depends_on"]) if r["depends_on"] else None,
        "not_before": iso(_parse_ts(r["not_before"])),
    }


def merge_scopes(current: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any] | None:
    """Union of two scopes; None (everything) absorbs any scope."""
    if current is None or new is None:
        return None
    merged: dict[str, Any] = {}
    for key in sorted(set(current) | set(new)):
        a, b = current.get(key), new.get(key)
        if key.endswith("_ids"):
            if a is None or b is None:
                # One scope limits by a dimension the other does not: the union is "everything".
                return None
            merged[key] = sorted(set(a) | set(b))
        else:
            merged[key] = b if b is not None else a
    return merged


class RunOptions(TypedDict, total=False):
    """What `create_run` (and `JobQueue.submit`) take besides the job; every key optional."""

    variant: str
    trigger: str
    scope: dict[str, Any] | None
    depends_on: uuid.UUID | None
    not_before: dt.datetime | None
    max_slide: dt.timedelta | None


@contextlib.asynccontextmanager
async def _connection(db: asyncpg.Connection | asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """The connection itself, or one from the pool for the duration of the block."""
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn:
            yield conn
    else:
        yield db


async def create_run(
    conn: asyncpg.Connection | asyncpg.Pool,
    job: str,
    *,
    variant: str = "regular",
    trigger: str = "manual",
    scope: dict[str, Any] | None = None,
    depends_on: uuid.UUID | None = None,
    not_before: dt.datetime | None = None,
    max_slide: dt.timedelta | None = None,
) -> tuple[asyncpg.Record, bool]:
    """Queue a run, or join the job+variant's run that is already queued.

    Returns (run, created). Joining merges the scope (so webhook work for several items becomes one
    run) and moves `not_before` to the later of the two (the debounce window restarts), but never
    past the run's `latest_start`: `max_slide` after the start its creator asked for, so a steady
    stream of requests cannot postpone it forever.
    """
    async with _connection(conn) as connection:
        latest_start = not_before + max_slide if not_before is not None and max_slide is not None else None
        for _ in range(3):  # the queued run may start between our insert and our select
            async with connection.transaction():
                row = await connection.fetchrow(
                    queries.INSERT_RUN,
                    uuid.uuid4(),
                    job,
                    variant,
                    trigger,
                    scope,
                    depends_on,
                    not_before,
                    latest_start,
                )
                if row is not None:
                    return row, True
                existing = await connection.fetchrow(queries.LOCK_QUEUED_FOR_JOB, job, variant)
                if existing is None:
                    continue
                new_scope = merge_scopes(existing["scope"], scope)
                new_not_before = existing["not_before"]
                if not_before is not None and (new_not_before is None or not_before > new_not_before):
                    new_not_before = not_before
                    if existing["latest_start"] is not None:
                        new_not_before = max(
                            existing["not_before"], min(not_before, existing["latest_start"])
                        )
                if new_scope == existing["scope"] and new_not_before == existing["not_before"]:
                    return existing, False
                merged = await connection.fetchrow(
                    queries.MERGE_QUEUED_SCOPE, existing["id"], new_scope, new_not_before
                )
                if merged is not None:
                    return merged, False
        raise RuntimeError(f"could not queue {job}: the queue changed too fast, try again")


async def get_run(conn: asyncpg.Connection | asyncpg.Pool, run_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(queries.GET_RUN, run_id)


async def cancel_run(conn: asyncpg.Connection | asyncpg.Pool, run_id: uuid.UUID) -> asyncpg.Record | None:
    """Queued: cancelled at once. Running: flagged; the worker stops it. Finished: None."""
    row = await conn.fetchrow(queries.END_QUEUED_RUN, run_id, "cancelled", "cancelled before it started")
    if row is not None:
        return row
    return await conn.fetchrow(queries.REQUEST_CANCEL_RUNNING, run_id)


async def active_runs(db: asyncpg.Pool, *, job: str) -> list[asyncpg.Record]:
    """The job's queued and running runs, oldest first."""
    return list(await db.fetch(queries.ACTIVE_RUNS_FOR_JOB, job))


async def list_runs(
    db: asyncpg.Pool, *, job: str | None, status: str | None, before: int | None, limit: int
) -> list[asyncpg.Record]:
    """Newest first, keyset-paged on `seq` (`before`); every filter optional."""
    return list(await db.fetch(queries.LIST_RUNS, job, status, before, limit))


async def list_logs(db: asyncpg.Pool, run_id: uuid.UUID, *, after: int, limit: int) -> list[asyncpg.Record]:
    return list(await db.fetch(queries.LIST_LOGS, run_id, after, limit))


async def queue_rows(db: asyncpg.Pool) -> list[asyncpg.Record]:
    """The running run (if any) first, then the queued ones in the order they will run."""
    return list(await db.fetch(queries.QUEUE))


async def append_log(
    conn: asyncpg.Connection | asyncpg.Pool,
    run_id: uuid.UUID,
    level: str,
    message: str,
    data: dict[str, Any] | None = None,
) -> None:
    await conn.execute(queries.INSERT_LOG, run_id, level, message, data)
