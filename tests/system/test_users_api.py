"""GET/PATCH /api/users: paging, counts per kind, library status, validation in the JSON error shape."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from aiohttp import web

from sidecar.api.errors import error_middleware
from sidecar.api.keys import DB, QUEUE, REGISTRY, SETTINGS
from sidecar.composition import MEDIA_KINDS
from sidecar.jobs.queue import JobQueue
from sidecar.jobs.registry import JobRegistry
from sidecar.settings import Settings
from sidecar.system.routes import setup_routes


async def _client(db: asyncpg.Pool, registry: JobRegistry, settings: Settings, aiohttp_client: Any) -> Any:
    app = web.Application(middlewares=[error_middleware])
    app[DB] = db
    app[SETTINGS] = settings
    app[REGISTRY] = registry
    app[QUEUE] = JobQueue(db, None, settings.queue_name)
    setup_routes(app, MEDIA_KINDS)
    return await aiohttp_client(app)


async def _seed(db: asyncpg.Pool) -> None:
    for n in range(5):
        await db.execute(
            "INSERT INTO media_users (id, name, enabled, is_disabled) VALUES ($1, $2, true, $3)",
            f"{n:032x}",
            f"user{n}",
            n == 3,
        )
    await db.execute("UPDATE media_users SET removed_at = now() WHERE name = 'user4'")
    await db.execute("INSERT INTO movies (id, title, content_hash) VALUES ('m1', 'A', 'h'), ('m2', 'B', 'h')")
    await db.execute(
        "INSERT INTO movie_plays (user_id, movie_id, played) VALUES ($1, 'm1', true), ($1, 'm2', false)",
        f"{0:032x}",
    )
    await db.execute(
        "INSERT INTO movie_recommendations (user_id, movie_id, rank, score, breakdown) VALUES ($1, 'm2', 1, 1, '{}')",
        f"{0:032x}",
    )
    await db.execute(
        """INSERT INTO user_libraries (user_id, media_type, folder_name, folder_path, library_id, library_name,
                                       entries) VALUES ($1, 'movies', 'user0', '/x', 'lib1', 'AI Picks', 1)""",
        f"{0:032x}",
    )


async def test_list_pages_filters_and_counts(
    db: asyncpg.Pool, registry: JobRegistry, settings: Settings, aiohttp_client: Any
) -> None:
    await _seed(db)
    client = await _client(db, registry, settings, aiohttp_client)

    first = await (await client.get("/api/users?limit=2")).json()
    second = await (await client.get(f"/api/users?limit=2&offset={first['next_offset']}")).json()
    last = await (await client.get("/api/users?limit=2&offset=4")).json()
    active = await (await client.get("/api/users?status=active")).json()
    search = await (await client.get("/api/users?q=ER2")).json()

    assert first["total"] == 5 and [u["name"] for u in first["users"]] == ["user0", "user1"]
    assert [u["name"] for u in second["users"]] == ["user2", "user3"] and last["next_offset"] is None
    assert [u["name"] for u in active["users"]] == ["user0", "user1", "user2"]
    assert [u["name"] for u in search["users"]] == ["user2"]
    user0 = first["users"][0]
    assert user0["kinds"]["movies"] == {
        "enabled": True,
        "plays": 2,
        "picks": 1,
        "library": {"status": "ok", "name": "AI Picks", "entries": 1, "last_synced_at": None},
    }
    assert user0["movies_enabled"] is True and user0["series_enabled"] is True and user0["active"] is True
    removed = last["users"][0]
    assert removed["active"] is False and removed["removed_at"].endswith("Z")


@pytest.mark.parametrize(
    ("query", "code"),
    [("limit=0", "invalid_parameter"), ("limit=x", "invalid_parameter"), ("status=gone", "invalid_parameter"),
     ("offset=-1", "invalid_parameter"), ("sort=name", "invalid_parameter")],
)  # fmt: skip
async def test_bad_list_parameters_get_the_error_shape(
    query: str, code: str, db: asyncpg.Pool, registry: JobRegistry, settings: Settings, aiohttp_client: Any
) -> None:
    client = await _client(db, registry, settings, aiohttp_client)
    response = await client.get(f"/api/users?{query}")
    assert response.status == 422
    assert (await response.json())["error"]["code"] == code


async def test_get_one_and_unknown(
    db: asyncpg.Pool, registry: JobRegistry, settings: Settings, aiohttp_client: Any
) -> None:
    await _seed(db)
    client = await _client(db, registry, settings, aiohttp_client)
    dashed = "00000000-0000-0000-0000-000000000001"

    one = await client.get(f"/api/users/{dashed}")
    missing = await client.get("/api/users/" + "f" * 32)
    bad = await client.get("/api/users/a;b")

    assert one.status == 200 and (await one.json())["name"] == "user1"
    assert missing.status == 404 and (await missing.json())["error"]["code"] == "unknown_user"
    assert bad.status == 400 and (await bad.json())["error"]["code"] == "invalid_user_id"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [(b"", 400, "missing_body"), (b"{", 400, "malformed_json"), (b"[]", 400, "malformed_json"),
     (b"{}", 422, "invalid_body"), (b'{"movies_enabled": "no"}', 422, "invalid_body"),
     (b'{"movies_enabled": false, "admin": true}', 422, "invalid_body")],
)  # fmt: skip
async def test_patch_validates_the_body(
    body: bytes,
    status: int,
    code: str,
    db: asyncpg.Pool,
    registry: JobRegistry,
    settings: Settings,
    aiohttp_client: Any,
) -> None:
    await _seed(db)
    client = await _client(db, registry, settings, aiohttp_client)
    response = await client.patch(
        f"/api/users/{0:032x}", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status == status
    assert (await response.json())["error"]["code"] == code


async def test_patch_switches_and_apply_queues_the_users_library_run(
    db: asyncpg.Pool, registry: JobRegistry, settings: Settings, aiohttp_client: Any
) -> None:
    await _seed(db)
    client = await _client(db, registry, settings, aiohttp_client)
    user = f"{1:032x}"

    later = await (await client.patch(f"/api/users/{user}", json={"series_enabled": False})).json()
    now = await (await client.patch(f"/api/users/{user}?apply=true", json={"movies_enabled": False})).json()
    bad = await client.patch(f"/api/users/{user}?apply=maybe", json={"movies_enabled": False})

    assert later["user"]["series_enabled"] is False and later["user"]["movies_enabled"] is True
    assert later["queued"] == []
    assert now["user"]["movies_enabled"] is False
    assert [(r["job"], r["scope"], r["status"]) for r in now["queued"]] == [
        ("sync-movie-libraries", {"user_ids": [user]}, "queued")
    ]
    assert bad.status == 422
    row = await db.fetchrow("SELECT enabled, series_enabled FROM media_users WHERE id = $1", user)
    assert (row["enabled"], row["series_enabled"]) == (False, False)
