"""GET /api/users/{user_id}/recommendations: a user's current picks, with why each was picked."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web

from sidecar.api.keys import DB
from sidecar.jobs.runs import iso
from sidecar.movies import recommend_queries as q


def _pick(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "rank": row["rank"],
        "movie": {"id": row["id"], "title": row["title"], "year": row["year"], "genres": list(row["genres"])},
        "score": row["score"],
        "breakdown": row["breakdown"],
        "evidence": row["evidence"],
        "explanation": row["explanation"],
        "generated_at": iso(row["generated_at"]),
    }


async def get_user_recommendations(request: web.Request) -> web.Response:
    user_id = request.match_info["user_id"]
    db = request.app[DB]
    async with db.acquire() as conn, conn.transaction(readonly=True, isolation="repeatable_read"):
        if not await conn.fetchval(q.USER_EXISTS, user_id):
            return web.json_response(
                {"error": {"code": "unknown_user", "message": f"no media server user with id {user_id!r}"}},
                status=404,
            )
        rows = await conn.fetch(q.USER_LIST, user_id)
    picks = [_pick(r) for r in rows]
    generated_at = max((r["generated_at"] for r in rows), default=None)
    return web.json_response(
        {"user_id": user_id, "generated_at": iso(generated_at), "recommendations": picks}
    )


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/api/users/{user_id}/recommendations", get_user_recommendations)
