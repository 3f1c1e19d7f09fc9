"""Shared set-up for the webhook tests: the receiver app on the real Postgres and Valkey."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import web
from arq.connections import ArqRedis
from pydantic import SecretStr

from sidecar.api.keys import DB, QUEUE, REGISTRY, SETTINGS
from sidecar.composition import MEDIA_KINDS
from sidecar.jobs.queue import JobQueue
from sidecar.jobs.registry import JobRegistry
from sidecar.settings import Settings
from webhooks.routes import setup_routes

FIXTURES = Path(__file__).parent / "fixtures"
TOKEN = "test-webhook-token-4f1c"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> dict[str, Any]:
    return json.loads(fixture_bytes(name))


def with_token(settings: Settings, token: str | None = TOKEN, **changes: Any) -> Settings:
    return settings.model_copy(
        update={"webhook_token": SecretStr(token) if token is not None else None, **changes}
    )


def webhook_app(
    db: asyncpg.Pool, settings: Settings, registry: JobRegistry, redis: ArqRedis | None
) -> web.Application:
    app = web.Application()
    app[SETTINGS] = settings
    app[DB] = db
    app[QUEUE] = JobQueue(db, redis, settings.queue_name)
    app[REGISTRY] = registry
    setup_routes(app, MEDIA_KINDS)
    return app


def split_http_request(raw: bytes) -> tuple[dict[str, str], bytes]:
    """A raw HTTP request file -> (headers, body)."""
    head, body = raw.split(b"\r\n\r\n", 1)
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, value = line.split(b":", 1)
        headers[name.decode().strip()] = value.decode().strip()
    return headers, body


async def stored_events(db: asyncpg.Pool) -> list[asyncpg.Record]:
    return list(await db.fetch("SELECT * FROM webhook_events ORDER BY received_at, id"))


async def queued_runs(db: asyncpg.Pool, job: str | None = None) -> list[asyncpg.Record]:
    return list(
        await db.fetch(
            "SELECT * FROM job_runs WHERE status = 'queued' AND ($1::text IS NULL OR job = $1) ORDER BY seq",
            job,
        )
    )
