"""/api/users/{id}/trakt: link, poll, status, unlink through HTTP; JSON errors; no token in answers."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web

from sidecar.api.errors import error_middleware
from sidecar.api.keys import DB, SETTINGS
from sidecar.settings import Settings
from sidecar.simulator.services.trakt import TraktState
from sidecar.trakt.routes import setup_routes
from tests.trakt.conftest import ALICE, seed_catalogue, stored_tokens


async def _client(db: asyncpg.Pool, settings: Settings, aiohttp_client: Any) -> Any:
    app = web.Application(middlewares=[error_middleware])
    app[DB] = db
    app[SETTINGS] = settings
    setup_routes(app)
    return await aiohttp_client(app)


async def test_link_poll_and_unlink(
    db: asyncpg.Pool, trakt_settings: Settings, trakt: tuple[TraktState, str], aiohttp_client: Any
) -> None:
    state, _ = trakt
    await seed_catalogue(db)
    client = await _client(db, trakt_settings, aiohttp_client)
    assert (await (await client.get(f"/api/users/{ALICE}/trakt")).json())["state"] == "unlinked"

    started = await client.post(f"/api/users/{ALICE}/trakt/link")
    body = await started.json()
    assert started.status == 201 and body["state"] == "pending" and body["configured"] is True
    assert "device_code" not in str(body) and body["user_code"]
    state.approve(body["user_code"], "alice")
    early = await (await client.post(f"/api/users/{ALICE}/trakt/poll")).json()
    assert early["state"] == "pending" and state.requests["POST /oauth/device/token"] == 0  # interval kept
    await db.execute("UPDATE trakt_device_codes SET next_poll_at = now() - interval '1 second'")
    linked = await client.post(f"/api/users/{ALICE}/trakt/poll")
    linked_body = await linked.json()
    assert linked.status == 200 and linked_body["state"] == "linked"
    access, refresh = await stored_tokens(db, ALICE)
    shown = str(linked_body) + str(await (await client.get(f"/api/users/{ALICE}/trakt")).json())
    assert access not in shown and refresh not in shown

    await db.execute(
        """INSERT INTO imported_plays (user_id, source, source_id, item_table, watched_at)
           VALUES ($1, 'trakt', 1, 'movies', now())""",
        ALICE,
    )
    gone = await client.delete(f"/api/users/{ALICE}/trakt")
    assert gone.status == 200 and (await gone.json())["state"] == "unlinked"
    for table in ("trakt_accounts", "trakt_device_codes", "imported_plays"):
        assert await db.fetchval(f"SELECT count(*) FROM {table}") == 0, table
    assert access not in state.tokens  # revoked at Trakt too


async def test_errors_in_the_api_shape(
    db: asyncpg.Pool, settings: Settings, trakt_settings: Settings, aiohttp_client: Any
) -> None:
    await seed_catalogue(db)
    configured = await _client(db, trakt_settings, aiohttp_client)
    unknown = await configured.post(f"/api/users/{'c' * 32}/trakt/link")
    assert unknown.status == 404 and (await unknown.json())["error"]["code"] == "unknown_user"
    bad = await configured.get("/api/users/not%20an%20id/trakt")
    assert bad.status == 400 and (await bad.json())["error"]["code"] == "invalid_user_id"

    bare = await _client(db, settings, aiohttp_client)
    refused = await bare.post(f"/api/users/{ALICE}/trakt/link")
    error = (await refused.json())["error"]
    assert refused.status == 409 and error["code"] == "not_configured"
    assert "SIDECAR_TRAKT_CLIENT_ID" in error["message"]
    shown = await (await bare.get(f"/api/users/{ALICE}/trakt")).json()
    assert shown["configured"] is False and shown["missing_setting"] == "SIDECAR_TRAKT_CLIENT_ID"

    no_key = await _client(db, trakt_settings.model_copy(update={"secret_key": None}), aiohttp_client)
    keyless = await no_key.post(f"/api/users/{ALICE}/trakt/link")
    assert keyless.status == 409 and "SIDECAR_SECRET_KEY" in (await keyless.json())["error"]["message"]
