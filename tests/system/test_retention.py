"""Old job runs and webhook deliveries are pruned; what the Jobs page and the planner still need stays."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import pytest

from sidecar.settings import Settings
from sidecar.system import retention
from tests.factory import add_run, add_webhook_event

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
OLD = NOW - dt.timedelta(days=120)
RECENT = NOW - dt.timedelta(days=5)


async def _run(
    db: asyncpg.Pool,
    job: str,
    status: str,
    finished_at: dt.datetime | None,
    *,
    depends_on: uuid.UUID | None = None,
    variant: str = "regular",
) -> uuid.UUID:
    return await add_run(
        db, job, status=status, variant=variant, finished_at=finished_at, depends_on=depends_on, log="hello"
    )


async def _event(db: asyncpg.Pool, received_at: dt.datetime, status: str) -> uuid.UUID:
    reason = "event_not_handled" if status == "ignored" else None
    return await add_webhook_event(db, received_at=received_at, status=status, ignored_reason=reason)


async def _ids(db: asyncpg.Pool, table: str) -> set[uuid.UUID]:
    return {row["id"] for row in await db.fetch(f"SELECT id FROM {table}")}


async def test_old_finished_runs_go_with_their_logs_but_each_jobs_latest_and_waited_on_runs_stay(
    db: asyncpg.Pool, settings: Settings
) -> None:
    # Inserted in the order they were queued (seq), as in real life.
    old_step_one = await _run(db, "sync-movies", "completed", OLD - dt.timedelta(days=3))
    finished_step_two = await _run(  # the latest embeddings run: kept, though its first step goes
        db, "generate-movie-embeddings", "completed", OLD - dt.timedelta(days=3), depends_on=old_step_one
    )
    older_full = await _run(
        db, "sync-movie-watch-history", "cancelled", OLD - dt.timedelta(days=1), variant="full"
    )
    only_full = await _run(db, "sync-movie-watch-history", "completed", OLD, variant="full")
    old_sync = await _run(db, "sync-movies", "completed", OLD)
    old_failed = await _run(db, "sync-movies", "failed", OLD + dt.timedelta(hours=1))
    step_one = await _run(db, "sync-movies", "completed", OLD + dt.timedelta(hours=2))
    waiting = await _run(db, "generate-movie-embeddings", "queued", None, depends_on=step_one)
    recent_sync = await _run(db, "sync-movies", "completed", RECENT)

    counts = await retention.prune_history(db, settings, NOW)

    assert await _ids(db, "job_runs") == {recent_sync, only_full, step_one, waiting, finished_step_two}
    assert counts["job_runs"] == 4  # old_sync, old_failed, older_full, old_step_one
    logged = {row["run_id"] for row in await db.fetch("SELECT run_id FROM job_run_logs")}
    assert logged == await _ids(db, "job_runs")
    # The later step keeps its history, without the link to the pruned earlier step.
    assert await db.fetchval("SELECT depends_on FROM job_runs WHERE id = $1", finished_step_two) is None
    assert await db.fetchval("SELECT depends_on FROM job_runs WHERE id = $1", waiting) == step_one
    assert {old_sync, old_failed, older_full, old_step_one}.isdisjoint(await _ids(db, "job_runs"))
    # Nothing left to prune: a second pass deletes nothing.
    assert await retention.prune_history(db, settings, NOW) == {
        "job_runs": 0,
        "webhook_events": 0,
        "deleted_users": 0,
    }


async def test_old_deliveries_are_pruned_in_batches_but_one_never_planned_stays(
    db: asyncpg.Pool, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "BATCH", 2)  # several batches with a handful of rows
    old_events = [await _event(db, OLD, "ignored") for _ in range(3)]
    old_events += [await _event(db, OLD, "planned") for _ in range(2)]
    never_planned = await _event(db, OLD, "received")
    recent = await _event(db, RECENT, "planned")

    counts = await retention.prune_history(db, settings, NOW)

    assert counts["webhook_events"] == len(old_events)
    assert await _ids(db, "webhook_events") == {never_planned, recent}
