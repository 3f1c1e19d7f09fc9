"""GET /api/users/{user_id}/recommendations[/{kind}]: a user's current picks, with why each was picked."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg
from aiohttp import web

from sidecar.api import queries
from sidecar.api.errors import ApiError
from sidecar.api.keys import DB
from sidecar.jobs.runs import iso
from sidecar.media import recommend_queries
from sidecar.media.kind import MediaKind


def _pick(kind: MediaKind, row: asyncpg.Record) -> dict[str, Any]:
    return {
        "rank": row["rank"],
        kind.singular: {
            "id": row["id"],
            "title": row["title"],
            "year": row["year"],
            "genres": list(row["genres"]),
        },
        "score": row["score"],
        "breakdown": row["breakdown"],
        "evidence": row["evidence"],
        "explanation": row["explanation"],
        "generated_at": iso(row["generated_at"]),
    }


def _library(row: asyncpg.Record | None) -> dict[str, Any]:
    """Written = the folder holds the picks; registered = the media server shows it to the user."""
    if row is None or row["last_synced_at"] is None:
        return {"written": False, "entries": 0, "registered": False, "last_synced_at": None}
    return {
        "written": True,
        "entries": row["entries"],
        "registered": row["registered"],
        "last_synced_at": iso(row["last_synced_at"]),
    }


def _handler(kind: MediaKind) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def get_user_recommendations(request: web.Request) -> web.Response:
        user_id = request.match_info["user_id"]
        db = request.app[DB]
        async with db.acquire() as conn, conn.transaction(readonly=True, isolation="repeatable_read"):
            user = await conn.fetchrow(queries.USER_NAME, user_id)
            if user is None:
                raise ApiError(404, "unknown_user", f"no media server user with id {user_id!r}")
            rows = await conn.fetch(kind.sql(recommend_queries.USER_LIST), user_id)
            library = await conn.fetchrow(queries.USER_LIBRARY, user_id, kind.name)
        picks = [_pick(kind, r) for r in rows]
        generated_at = max((r["generated_at"] for r in rows), default=None)
        return web.json_response(
            {
                "user_id": user_id,
                "user_name": user["name"],
                "generated_at": iso(generated_at),
                "recommendations": picks,
                "library": _library(library),
            }
        )

    return get_user_recommendations


def setup_routes(app: web.Application, kinds: Sequence[MediaKind]) -> None:
    """One route per kind; the path without a kind serves the first kind (movies), as it always did."""
    for position, kind in enumerate(kinds):
        handler = _handler(kind)
        if position == 0:
            app.router.add_get("/api/users/{user_id}/recommendations", handler)
        app.router.add_get(f"/api/users/{{user_id}}/recommendations/{kind.name}", handler)
