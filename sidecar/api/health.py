"""GET /api/health: database, Redis and worker liveness, 503 when any is down."""

from __future__ import annotations

import asyncio
import datetime as dt

from aiohttp import web

import sidecar
from sidecar.api.keys import DB, QUEUE
from sidecar.jobs import queries
from sidecar.jobs.runs import WORKER_STALE_AFTER, iso

CHECK_TIMEOUT = 2.0


async def health(request: web.Request) -> web.Response:
    db, queue = request.app[DB], request.app[QUEUE]
    database = redis = "ok"
    errors: dict[str, str] = {}
    last_seen = None
    try:
        last_seen = await asyncio.wait_for(db.fetchval(queries.LAST_HEARTBEAT), CHECK_TIMEOUT)
    except Exception as exc:
        database, errors["database"] = "down", type(exc).__name__
    try:
        if queue.redis is None:
            raise ConnectionError("no redis configured")
        await asyncio.wait_for(queue.redis.ping(), CHECK_TIMEOUT)
    except Exception as exc:
        redis, errors["redis"] = "down", type(exc).__name__
    alive = last_seen is not None and dt.datetime.now(dt.UTC) - last_seen < WORKER_STALE_AFTER
    ok = database == "ok" and redis == "ok" and alive
    body = {
        "status": "ok" if ok else "degraded",
        "database": database,
        "redis": redis,
        "worker": {"alive": alive, "last_seen_at": iso(last_seen)},
        "version": sidecar.__version__,
    }
    if errors:
        body["errors"] = errors  # which exception each failing check saw (no messages: no secrets)
    return web.json_response(body, status=200 if ok else 503)


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/api/health", health)
