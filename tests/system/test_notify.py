"""Notifications through Apprise's json:// scheme to a local HTTP receiver: one message per failed run,
naming the job, the error and the run link, with no secret in it; a dead target never fails a job."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from sidecar.jobs.context import JobContext, JobError
from sidecar.jobs.executor import run_inline
from sidecar.jobs.registry import JobDefinition, JobRegistry
from sidecar.settings import Settings
from sidecar.system.notify import notify_finished_run

SECRET = "s3cretKEY42"


async def _fails(ctx: JobContext) -> None:
    raise JobError(
        f"TMDb said 401 for https://api.themoviedb.org/3/movie/1?api_key={SECRET}&language=en "
        f"(token={SECRET}); check SIDECAR_TMDB_API_KEY"
    )


async def _completes(ctx: JobContext) -> dict[str, Any]:
    return {"ok": 1}


def _registry() -> JobRegistry:
    registry = JobRegistry()
    registry.register(JobDefinition("enrich-metadata", "Enrich", "global", "", _fails))
    registry.register(JobDefinition("sync-users", "Users", "global", "", _completes))
    registry.on_run_finished(notify_finished_run)
    return registry


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    async def collect(request: web.Request) -> web.Response:
        received.append({"body": await request.json(), "query": dict(request.query)})
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", collect)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield f"json://127.0.0.1:{server.port}/hook", received
    finally:
        await server.close()


async def test_one_message_per_failed_run_without_secrets(
    db: asyncpg.Pool, settings: Settings, receiver: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = receiver
    cfg = settings.model_copy(
        update={
            "notify_urls": SecretStr(f"{url}?token=target-{SECRET}"),
            "public_url": "https://picks.example",
        }
    )
    registry = _registry()

    failed = await run_inline(db, registry, cfg, "enrich-metadata")
    completed = await run_inline(db, registry, cfg, "sync-users")
    # A second finish of the same run (a retry, a second hook call) sends nothing more.
    ctx = JobContext(
        run_id=failed["id"], job="enrich-metadata", variant="regular", trigger="manual", scope=None,
        settings=cfg, db=db,
    )  # fmt: skip
    await notify_finished_run(failed, ctx)

    assert failed["status"] == "failed" and completed["status"] == "completed"
    assert len(received) == 1
    message = received[0]["body"]
    assert message["type"] == "failure"
    assert "enrich-metadata" in message["title"] and "failed" in message["title"]
    assert f"https://picks.example/api/runs/{failed['id']}" in message["message"]
    assert "TMDb said 401 for https://api.themoviedb.org" in message["message"]
    assert SECRET not in str(message) and "language=en" not in message["message"]
    assert await db.fetchval("SELECT notified_at FROM job_runs WHERE id = $1", failed["id"]) is not None


async def test_long_completed_runs_only_when_chosen(
    db: asyncpg.Pool, settings: Settings, receiver: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = receiver
    registry = _registry()
    plain = settings.model_copy(update={"notify_urls": SecretStr(url)})
    chosen = plain.model_copy(update={"notify_long_run_minutes": 1.0})
    for cfg in (plain, chosen):
        run = await run_inline(db, registry, cfg, "sync-users")
        long = dict(run) | {"finished_at": run["started_at"] + dt.timedelta(minutes=5)}
        await db.execute("UPDATE job_runs SET notified_at = NULL WHERE id = $1", run["id"])
        ctx = JobContext(
            run_id=run["id"],
            job="sync-users",
            variant="regular",
            trigger="manual",
            scope=None,
            settings=cfg,
            db=db,
        )
        await notify_finished_run(long, ctx)

    assert len(received) == 1
    assert received[0]["body"]["type"] == "info" and "completed after 300 s" in received[0]["body"]["title"]


async def test_an_unreachable_target_is_logged_and_the_run_is_untouched(
    db: asyncpg.Pool, settings: Settings
) -> None:
    cfg = settings.model_copy(update={"notify_urls": SecretStr("json://127.0.0.1:9/nowhere, not-a-url")})
    run = await run_inline(db, _registry(), cfg, "enrich-metadata")
    assert run["status"] == "failed" and "TMDb said 401" in run["error"]
