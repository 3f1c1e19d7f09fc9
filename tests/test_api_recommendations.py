"""GET /api/users/{user_id}/recommendations on a minimal app over the real database."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web

from sidecar.api.errors import error_middleware
from sidecar.api.keys import DB
from sidecar.api.recommendations import setup_routes
from sidecar.composition import MEDIA_KINDS
from tests.factory import add_plays, add_user
from tests.recommend_helpers import two_cluster_library


async def _client(db: asyncpg.Pool, aiohttp_client: Any) -> Any:
    app = web.Application(middlewares=[error_middleware])
    app[DB] = db
    setup_routes(app, MEDIA_KINDS)
    return await aiohttp_client(app)


async def test_lists_picks_in_rank_order_with_movie_and_reasons(
    db: asyncpg.Pool, run_job: Any, aiohttp_client: Any
) -> None:
    space, _ = await two_cluster_library(db)
    await add_user(db, "u1", max_recs=4)
    await add_plays(db, "u1", space[:3])
    row = await run_job("generate-movie-recommendations")
    client = await _client(db, aiohttp_client)

    response = await client.get("/api/users/u1/recommendations")

    assert response.status == 200
    body = await response.json()
    assert body["user_id"] == "u1"
    assert body["generated_at"].endswith("Z")
    picks = body["recommendations"]
    assert [p["rank"] for p in picks] == [1, 2, 3, 4]
    stored = await db.fetch(
        "SELECT movie_id, score FROM movie_recommendations WHERE user_id='u1' ORDER BY rank"
    )
    assert [p["movie"]["id"] for p in picks] == [r["movie_id"] for r in stored]
    first = picks[0]
    assert first["movie"] == {
        "id": stored[0]["movie_id"],
        "title": f"Title {stored[0]['movie_id']}",
        "year": 2000,
        "genres": ["Science Fiction"],
    }
    assert set(first) == {"rank", "movie", "score", "breakdown", "evidence", "explanation", "generated_at"}
    assert "content" in first["breakdown"] and first["evidence"][0]["movie_id"] in space[:3]
    assert first["explanation"]
    assert row["status"] == "completed"


async def test_known_user_without_picks_gets_an_empty_list(db: asyncpg.Pool, aiohttp_client: Any) -> None:
    await add_user(db, "u2")
    client = await _client(db, aiohttp_client)

    response = await client.get("/api/users/u2/recommendations")

    assert response.status == 200
    assert await response.json() == {
        "user_id": "u2",
        "user_name": "user-u2",
        "generated_at": None,
        "recommendations": [],
        "library": {"written": False, "entries": 0, "registered": False, "last_synced_at": None},
    }


async def test_unknown_user_is_a_404_with_an_error_code(db: asyncpg.Pool, aiohttp_client: Any) -> None:
    client = await _client(db, aiohttp_client)

    response = await client.get("/api/users/nobody/recommendations")

    assert response.status == 404
    body = await response.json()
    assert body["error"]["code"] == "unknown_user"
    assert "nobody" in body["error"]["message"]
