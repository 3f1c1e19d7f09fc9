"""The web app factory: job API, recommendations, the Jobs page; resources opened and closed in one place.

The composition root (sidecar/composition.py) adds the webhook receivers to the app made here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from aiohttp import web
from arq.connections import ArqRedis

from sidecar.api import (
    health,
    jobs,
    metrics,
    openapi,
    page,
    pipeline_list,
    posters,
    recommendations,
    schedule_preview,
)
from sidecar.api.auth import api_key_middleware
from sidecar.api.errors import error_middleware
from sidecar.api.guard import stranger_middleware
from sidecar.api.inputs import input_middleware
from sidecar.api.keys import DB, QUEUE, REGISTRY, SETTINGS
from sidecar.db import create_pool, migrate
from sidecar.jobs import schedules
from sidecar.jobs.queue import JobQueue
from sidecar.jobs.registry import JobRegistry
from sidecar.media.kind import MediaKind
from sidecar.settings import Settings

MAX_BODY_BYTES = 1024 * 1024  # webhooks: 413 above 1 MiB


def create_app(
    settings: Settings,
    *,
    database_url: str,
    redis_url: str,
    registry: JobRegistry,
    kinds: Sequence[MediaKind],
) -> web.Application:
    # Outermost first: every answer in the error shape; strangers refused before the key is checked;
    # bodies parsed only for callers that passed both.
    middlewares = [error_middleware, stranger_middleware, api_key_middleware, input_middleware]
    app = web.Application(middlewares=middlewares, client_max_size=MAX_BODY_BYTES)
    app[SETTINGS] = settings
    app[REGISTRY] = registry

    async def resources(app: web.Application) -> AsyncIterator[None]:
        await migrate(database_url)
        db = await create_pool(database_url)
        # Created without a ping: the API and webhooks keep working while Redis is down.
        redis = ArqRedis.from_url(redis_url)
        app[DB] = db
        app[QUEUE] = JobQueue(db, redis, settings.queue_name)
        await schedules.seed(db, app[REGISTRY], settings.timezone)
        yield
        await redis.aclose()
        await db.close()

    app.cleanup_ctx.append(resources)
    health.setup_routes(app)
    jobs.setup_routes(app)
    recommendations.setup_routes(app, kinds)
    pipeline_list.setup_routes(app)
    schedule_preview.setup_routes(app)
    posters.setup_routes(app)
    metrics.setup_routes(app)
    openapi.setup_routes(app)
    page.setup_routes(app)
    return app
