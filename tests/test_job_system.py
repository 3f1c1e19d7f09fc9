"""The job system end to end: real API, real ARQ worker on Valkey, real Postgres."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from arq.connections import ArqRedis

from sidecar.api.app import create_app
from sidecar.composition import MEDIA_KINDS, web_app
from sidecar.jobs.context import JobContext, JobError
from sidecar.jobs.registry import JobDefinition, JobRegistry
from sidecar.media.graph import job_graph
from sidecar.media.kind import MediaKind, Step
from sidecar.settings import Settings
from tests.jobs_harness import Recorder, make_registry, running_worker, wait_for, wait_status
from worker.tick import run_tick


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


@pytest.fixture
def reg(rec: Recorder) -> JobRegistry:
    return make_registry(rec)


@pytest.fixture
async def client(
    aiohttp_client: Any, settings: Settings, database_url: str, flushed_redis: str, reg: JobRegistry, db: Any
) -> TestClient:
    app = create_app(settings, database_url=database_url, redis_url=flushed_redis, registry=reg, kinds=())
    return await aiohttp_client(app)


async def start(client: TestClient, job: str, **body: Any) -> dict[str, Any]:
    resp = await client.post(f"/api/jobs/{job}/runs", json=body or None)
    assert resp.status in (200, 202), await resp.text()
    return (await resp.json())["run"]


@pytest.fixture
def start_worker(settings: Settings, database_url: str, flushed_redis: str, reg: JobRegistry) -> Any:
    """`async with start_worker():` runs the real ARQ worker on this test's registry."""
    return lambda: running_worker(settings, database_url, flushed_redis, reg)


async def test_runs_execute_fifo_one_at_a_time(
    client: TestClient, db: asyncpg.Pool, rec: Recorder, start_worker: Any
) -> None:
    blocker = await start(client, "blocker")
    ids = [(await start(client, name))["id"] for name in ("quick-c", "quick-a", "quick-b")]
    async with start_worker():
        await wait_status(db, blocker["id"], "running")
        queue = await (await client.get("/api/queue")).json()
        assert queue["running"]["id"] == blocker["id"]
        assert [r["id"] for r in queue["queued"]] == ids
        rec.release.set()
        for run_id in ids:
            await wait_status(db, run_id, "completed")
    assert rec.order() == ["blocker", "quick-c", "quick-a", "quick-b"]
    # One at a time: every job ended before the next one started.
    assert [what for _, what in rec.events] == ["start", "end"] * 4


async def test_second_request_for_a_queued_job_returns_the_queued_run(client: TestClient) -> None:
    first = await client.post("/api/jobs/quick-b/runs", json={"variant": "full"})
    second = await client.post("/api/jobs/quick-b/runs", json={"variant": "full"})
    other_variant = await client.post("/api/jobs/quick-b/runs")
    assert first.status == 202 and second.status == 200 and other_variant.status == 202
    run1, run2, run3 = [(await r.json())["run"] for r in (first, second, other_variant)]
    assert run1["id"] == run2["id"] != run3["id"]
    card = await (await client.get("/api/jobs/quick-b")).json()
    assert card["state"] == "queued" and card["queued_runs"] == 2


async def test_cancel_queued_run_is_immediate_and_it_never_runs(
    client: TestClient, db: asyncpg.Pool, rec: Recorder, start_worker: Any
) -> None:
    blocker = await start(client, "blocker")
    queued = await start(client, "quick-a")
    after = await start(client, "quick-c")
    resp = await client.post(f"/api/runs/{queued['id']}/cancel")
    assert resp.status == 202
    assert (await resp.json())["status"] == "cancelled"
    async with start_worker():
        await wait_status(db, blocker["id"], "running")
        rec.release.set()
        await wait_status(db, after["id"], "completed")
    assert "quick-a" not in rec.order()
    again = await client.post(f"/api/runs/{queued['id']}/cancel")
    assert again.status == 409
    assert (await again.json())["error"]["code"] == "already_finished"


async def test_cancel_running_run_stops_at_next_check_before_next_run_starts(
    client: TestClient, db: asyncpg.Pool, rec: Recorder, start_worker: Any
) -> None:
    blocker = await start(client, "blocker")
    nxt = await start(client, "quick-a")
    async with start_worker():
        await wait_status(db, blocker["id"], "running")
        resp = await client.post("/api/jobs/blocker/cancel")
        assert resp.status == 202
        assert (await resp.json())["cancelled"] == [blocker["id"]]
        done = await wait_status(db, blocker["id"], "cancelled")
        later = await wait_status(db, nxt["id"], "completed")
    assert done["error"] == "cancelled on request"
    assert later["started_at"] >= done["finished_at"]


async def test_job_ignoring_cancel_is_aborted_after_grace_and_holds_the_slot_until_then(
    client: TestClient, db: asyncpg.Pool, settings: Settings, rec: Recorder, start_worker: Any
) -> None:
    settings.cancel_grace_seconds = 1.0
    stubborn = await start(client, "stubborn")
    nxt = await start(client, "quick-a")
    async with start_worker():
        await wait_status(db, stubborn["id"], "running")
        requested = dt.datetime.now(dt.UTC)
        assert (await client.post(f"/api/runs/{stubborn['id']}/cancel")).status == 202
        done = await wait_status(db, stubborn["id"], "cancelled")
        later = await wait_status(db, nxt["id"], "completed")
    assert "aborted" in done["error"]
    assert done["finished_at"] - requested >= dt.timedelta(seconds=1.0)
    assert later["started_at"] >= done["finished_at"]
    assert rec.order("end")[0] == "stubborn"  # its cleanup ran before the next job started
    logs = await db.fetch("SELECT message FROM job_run_logs WHERE run_id = $1::uuid", stubborn["id"])
    assert any("did not stop within" in r["message"] for r in logs)


async def test_failing_job_ends_failed_with_its_error_and_is_not_retried(
    client: TestClient, db: asyncpg.Pool, rec: Recorder, start_worker: Any
) -> None:
    failing = await start(client, "fails")
    marker = await start(client, "quick-a")
    async with start_worker():
        row = await wait_status(db, failing["id"], "failed")
        await wait_status(db, marker["id"], "completed")
        await asyncio.sleep(0.5)
    assert row["error"] == "the thing failed; check the thing"
    assert rec.calls["fails"] == 1
    card = await (await client.get("/api/jobs/fails")).json()
    assert card["state"] == "failed" and card["last_run"]["error"] == row["error"]


async def test_unexpected_exception_is_reported_without_secrets(
    db: asyncpg.Pool, settings: Settings, run_job: Any
) -> None:
    async def leaky(ctx: JobContext) -> None:
        raise RuntimeError("connect failed for http://srv/?api_key=SUPERSECRET")

    registry = JobRegistry()
    registry.register(JobDefinition(name="leaky", title="L", category="t", description="", func=leaky))
    from sidecar.jobs.executor import run_inline

    row = await run_inline(db, registry, settings, "leaky")
    assert row["status"] == "failed"
    assert "RuntimeError" in row["error"] and "SUPERSECRET" not in row["error"]
    logs = await db.fetch("SELECT message, data FROM job_run_logs WHERE run_id = $1", row["id"])
    assert not any("SUPERSECRET" in (r["message"] + str(r["data"])) for r in logs)


async def test_worker_restart_fails_interrupted_runs(
    client: TestClient, db: asyncpg.Pool, start_worker: Any
) -> None:
    run = await start(client, "quick-a")
    # Simulate a worker that claimed the run and died.
    await db.execute("UPDATE job_runs SET status='running', started_at=now() WHERE id=$1::uuid", run["id"])
    async with start_worker():
        row = await wait_status(db, run["id"], "failed")
    assert row["error"].startswith("interrupted: worker restarted")
    got = await (await client.get(f"/api/runs/{run['id']}")).json()
    assert got["status"] == "failed" and got["finished_at"] is not None


async def test_queued_runs_lost_from_redis_are_sent_again_in_order(
    client: TestClient, db: asyncpg.Pool, flushed_redis: str, rec: Recorder, start_worker: Any
) -> None:
    ids = [(await start(client, name))["id"] for name in ("quick-b", "quick-a", "quick-c")]
    redis = ArqRedis.from_url(flushed_redis)
    await redis.flushall()  # Redis restarted empty: every wake-up is gone
    await redis.aclose()
    async with start_worker():
        for run_id in ids:
            await wait_status(db, run_id, "completed")
    assert rec.order() == ["quick-b", "quick-a", "quick-c"]


async def test_due_schedule_is_enqueued_exactly_once(
    client: TestClient, db: asyncpg.Pool, reg: JobRegistry
) -> None:
    from sidecar.api.keys import QUEUE

    queue = client.app[QUEUE]
    # Came due several times while the worker was down.
    await db.execute(
        "UPDATE job_schedules SET last_fired_at = now() - interval '1 hour' WHERE job='scheduled'"
    )
    first, second = await asyncio.gather(run_tick(db, queue, reg), run_tick(db, queue, reg))
    third = await run_tick(db, queue, reg)
    runs = await db.fetch("SELECT trigger, status FROM job_runs WHERE job = 'scheduled'")
    assert len(first) + len(second) == 1 and third == []
    assert [(r["trigger"], r["status"]) for r in runs] == [("schedule", "queued")]
    card = await (await client.get("/api/jobs/scheduled")).json()
    assert card["schedule"]["cron"] == "*/5 * * * *"
    assert card["schedule"]["next_run_at"] > dt.datetime.now(dt.UTC).isoformat()[:19]


async def test_schedule_edit_changes_next_run_and_validates(client: TestClient) -> None:
    resp = await client.put(
        "/api/jobs/quick-a/schedule", json={"cron": "0 3 * * *", "timezone": "Europe/Berlin"}
    )
    assert resp.status == 200
    card = await resp.json()
    assert card["schedule"]["description"] == "Daily at 03:00"
    nxt = dt.datetime.fromisoformat(card["schedule"]["next_run_at"])
    assert nxt.astimezone(dt.timezone(dt.timedelta(hours=1))).hour in (2, 3)  # 03:00 Berlin, CET or CEST
    bad_cron = await client.put("/api/jobs/quick-a/schedule", json={"cron": "every day"})
    bad_tz = await client.put(
        "/api/jobs/quick-a/schedule", json={"cron": "0 3 * * *", "timezone": "Mars/Base"}
    )
    assert bad_cron.status == bad_tz.status == 422
    assert "cron" in (await bad_cron.json())["error"]["message"]
    assert "timezone" in (await bad_tz.json())["error"]["message"]


async def test_manual_only_job_refuses_a_schedule(client: TestClient) -> None:
    resp = await client.put("/api/jobs/manual/schedule", json={"cron": "0 3 * * *"})
    assert resp.status == 409
    assert (await resp.json())["error"]["code"] == "manual_only"


async def test_log_paging(client: TestClient, db: asyncpg.Pool, start_worker: Any) -> None:
    run = await start(client, "chatty")
    async with start_worker():
        await wait_status(db, run["id"], "completed")
    seen: list[str] = []
    after = 0
    while True:
        page = await (await client.get(f"/api/runs/{run['id']}/logs?after={after}&limit=10")).json()
        if not page["logs"]:
            break
        assert len(page["logs"]) <= 10
        seen += [entry["message"] for entry in page["logs"]]
        after = page["next_after"]
    lines = [m for m in seen if m.startswith("line ")]
    assert lines == [f"line {i}" for i in range(25)]
    assert seen[0] == "run started"


async def test_run_history_pages_newest_first(client: TestClient) -> None:
    ids = []
    for _ in range(5):
        run = await start(client, "quick-a")
        ids.append(run["id"])
        await client.post(f"/api/runs/{run['id']}/cancel")
    page1 = await (await client.get("/api/jobs/quick-a/runs?limit=3")).json()
    page2 = await (await client.get(f"/api/jobs/quick-a/runs?limit=3&before={page1['next_before']}")).json()
    assert [r["id"] for r in page1["runs"] + page2["runs"]] == ids[::-1]
    assert page2["next_before"] is None
    filtered = await (await client.get("/api/runs?status=cancelled&job=quick-a&limit=50")).json()
    assert len(filtered["runs"]) == 5


@pytest.mark.parametrize("kind", MEDIA_KINDS, ids=lambda k: k.name)
async def test_pipeline_stops_at_failed_step(
    kind: MediaKind,
    aiohttp_client: Any,
    db: asyncpg.Pool,
    settings: Settings,
    database_url: str,
    flushed_redis: str,
) -> None:
    rec = Recorder()

    async def step(ctx: JobContext, kind: MediaKind) -> dict[str, Any]:
        rec.mark(ctx.job, "start")
        if ctx.job == kind.job(Step.EMBEDDINGS):
            raise JobError("embedding provider unreachable")
        return {}

    reg = JobRegistry()
    reg.register_graph(job_graph(dataclasses.replace(kind, steps=dict.fromkeys(Step, step))))
    client = await aiohttp_client(
        create_app(settings, database_url=database_url, redis_url=flushed_redis, registry=reg, kinds=())
    )
    resp = await client.post(f"/api/pipelines/{kind.name}")
    assert resp.status == 202
    chain = (await resp.json())["runs"]
    assert [r["job"] for r in chain] == [kind.job(s) for s in Step if s is not Step.FULL_RESET]
    assert all(r["trigger"] == "pipeline" for r in chain)
    unknown = await client.post("/api/pipelines/podcasts")
    assert unknown.status == 404 and (await unknown.json())["error"]["code"] == "unknown_pipeline"
    again = await client.post(f"/api/pipelines/{kind.name}")
    assert again.status == 200 and [r["id"] for r in (await again.json())["runs"]] == [r["id"] for r in chain]
    async with running_worker(settings, database_url, flushed_redis, reg):
        final = [await wait_status(db, r["id"], "completed", "failed", "cancelled") for r in chain]
    assert [f["status"] for f in final] == ["completed", "failed", "cancelled", "cancelled", "cancelled"]
    assert final[2]["error"] == f"prerequisite {kind.job(Step.EMBEDDINGS)} did not complete"
    assert final[3]["error"] == f"prerequisite {kind.job(Step.WATCH_HISTORY)} did not complete"
    assert rec.order() == [kind.job(Step.SYNC), kind.job(Step.EMBEDDINGS)]


async def test_api_errors_use_the_json_shape(
    aiohttp_client: Any, settings: Settings, database_url: str, flushed_redis: str, reg: JobRegistry, db: Any
) -> None:
    from pydantic import SecretStr

    settings.api_key = SecretStr("k3y")
    client = await aiohttp_client(
        create_app(settings, database_url=database_url, redis_url=flushed_redis, registry=reg, kinds=())
    )
    auth = {"Authorization": "Bearer k3y"}

    async def error_of(resp: Any) -> tuple[int, str]:
        body = await resp.json()
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
        assert "Traceback" not in body["error"]["message"]
        return resp.status, body["error"]["code"]

    assert await error_of(await client.get("/api/jobs")) == (401, "unauthorized")
    assert await error_of(await client.get("/api/jobs", headers={"Authorization": "Bearer nope"})) == (
        401,
        "unauthorized",
    )
    assert (await client.get("/api/jobs", headers={"X-Api-Key": "k3y"})).status == 200
    assert (await client.get("/api/health")).status in (200, 503)  # open without a key
    assert await error_of(await client.get("/api/jobs/nope", headers=auth)) == (404, "unknown_job")
    assert await error_of(await client.get("/api/nothing-here", headers=auth)) == (404, "not_found")
    unknown_run = "/api/runs/00000000-0000-0000-0000-000000000000"
    assert await error_of(await client.get(unknown_run, headers=auth)) == (404, "unknown_run")
    assert await error_of(await client.get("/api/runs/not-a-uuid", headers=auth)) == (400, "invalid_run_id")
    assert await error_of(await client.post("/api/jobs/quick-a/cancel", headers=auth)) == (
        409,
        "nothing_to_cancel",
    )
    assert await error_of(
        await client.post("/api/jobs/quick-a/runs", headers=auth, json={"variant": "x"})
    ) == (422, "unknown_variant")
    assert await error_of(
        await client.post(
            "/api/jobs/quick-a/runs",
            headers={**auth, "Content-Type": "application/json"},
            data=b"{nope",
        )
    ) == (400, "malformed_json")
    # A body not declared as JSON (a cross-site form could send it without a preflight).
    assert await error_of(await client.post("/api/jobs/quick-a/runs", headers=auth, data=b"{}")) == (
        415,
        "unsupported_media_type",
    )
    assert await error_of(await client.post("/api/jobs/quick-a/runs", headers=auth, json={"colour": 1})) == (
        422,
        "invalid_body",
    )
    assert await error_of(await client.get("/api/runs?limit=0", headers=auth)) == (422, "invalid_parameter")
    assert await error_of(await client.get("/api/runs?status=done", headers=auth)) == (
        422,
        "invalid_parameter",
    )


async def test_health_reports_worker_liveness(client: TestClient, start_worker: Any) -> None:
    down = await client.get("/api/health")
    body = await down.json()
    assert down.status == 503 and body["status"] == "degraded" and body["worker"]["alive"] is False
    assert body["database"] == "ok" and body["redis"] == "ok"
    async with start_worker():

        async def healthy() -> Any:
            resp = await client.get("/api/health")
            return resp.status == 200 and await resp.json()

        ok = await wait_for(healthy)
    assert (
        ok["status"] == "ok" and ok["worker"]["alive"] is True and ok["worker"]["last_seen_at"].endswith("Z")
    )


async def test_jobs_endpoint_lists_the_movie_then_the_global_jobs_with_every_field(
    aiohttp_client: Any, settings: Settings, database_url: str, flushed_redis: str, db: Any
) -> None:
    client = await aiohttp_client(web_app(settings, database_url=database_url, redis_url=flushed_redis))
    jobs = (await (await client.get("/api/jobs")).json())["jobs"]
    assert [j["name"] for j in jobs] == [
        "sync-movies",
        "generate-movie-embeddings",
        "sync-movie-watch-history",
        "generate-movie-recommendations",
        "full-reset-movie-recommendations",
        "sync-movie-libraries",
        "sync-series",
        "generate-series-embeddings",
        "sync-series-watch-history",
        "generate-series-recommendations",
        "full-reset-series-recommendations",
        "sync-series-libraries",
        "sync-users",
        "refresh-top-picks",
        "backup-database",
        "housekeeping",
        "enrich-metadata",
        "generate-discovery-suggestions",
        "sync-trakt",
    ]
    assert {j["category"] for j in jobs[6:12]} == {"series"} and {j["category"] for j in jobs[12:]} == {
        "global"
    }
    fields = {
        "name",
        "title",
        "category",
        "description",
        "state",
        "manual_only",
        "variants",
        "prerequisites",
        "schedule",
        "last_run",
        "current_run",
        "queued_runs",
    }
    for job in jobs:
        assert fields <= set(job), job["name"]
        assert job["state"] == "idle"
    by_name = {j["name"]: j for j in jobs}
    assert by_name["full-reset-movie-recommendations"]["manual_only"] is True
    assert by_name["full-reset-movie-recommendations"]["schedule"] is None
    assert by_name["sync-movie-watch-history"]["variants"] == ["regular", "full"]
    assert by_name["sync-movies"]["schedule"]["description"] == "Daily at 03:00"
