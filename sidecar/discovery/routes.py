"""The discovery API.

GET  /api/users/{user_id}/discover[?kind=movies|series]: the user's suggestions, best first per kind.
POST /api/users/{user_id}/discover/{kind}/{tmdb_id}/request: an admin requests one of them from
     Jellyseerr/Overseerr (SIDECAR_SEERR_URL + SIDECAR_SEERR_API_KEY); behind the API key like every
     state change, never made by the sidecar itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from sidecar.api import queries as api_queries
from sidecar.api.errors import ApiError
from sidecar.api.jobs import _query
from sidecar.api.keys import DB, SETTINGS
from sidecar.discovery import queries as q
from sidecar.discovery.requests import request_suggestion, requests_enabled
from sidecar.discovery.tmdb_source import TMDB_TYPES
from sidecar.jobs.runs import iso
from sidecar.media.kind import MediaKind
from sidecar.services.tmdb import TmdbKind
from sidecar.system.routes import user_id_from

POSTER_BASE = "https://image.tmdb.org/t/p/w185"
MAX_TMDB_ID = 2**31 - 1

DISCOVER_KINDS = web.AppKey("discover_kinds", dict)  # kind name -> TMDb media type


class DiscoverQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str | None = Field(None, min_length=1, max_length=40)


def _suggestion(row: asyncpg.Record, media_type: TmdbKind) -> dict[str, Any]:
    request = None
    if row["request_status"] is not None:
        request = {"status": row["request_status"], "requested_at": iso(row["requested_at"])}
    return {
        "rank": row["rank"],
        "kind": row["kind"],
        "tmdb_id": row["tmdb_id"],
        "title": row["title"],
        "original_title": row["original_title"],
        "year": row["year"],
        "overview": row["overview"],
        "genres": list(row["genres"]),
        "certification": row["certification"],
        "popularity": row["popularity"],
        "vote_average": row["vote_average"],
        "vote_count": row["vote_count"],
        "poster_url": f"{POSTER_BASE}{row['poster_path']}" if row["poster_path"] else None,
        "tmdb_url": f"https://www.themoviedb.org/{media_type}/{row['tmdb_id']}",
        "score": row["score"],
        "breakdown": row["breakdown"],
        "seeds": row["seeds"],
        "reason": row["reason"],
        "generated_at": iso(row["generated_at"]),
        "request": request,
    }


def _kinds(request: web.Request, wanted: str | None) -> dict[str, TmdbKind]:
    kinds: dict[str, TmdbKind] = request.app[DISCOVER_KINDS]
    if wanted is None:
        return kinds
    if wanted not in kinds:
        raise ApiError(422, "invalid_parameter", f"kind: one of {', '.join(kinds)}, not {wanted!r}")
    return {wanted: kinds[wanted]}


async def get_discover(request: web.Request) -> web.Response:
    user_id = user_id_from(request)
    kinds = _kinds(request, _query(request, DiscoverQuery).kind)
    db = request.app[DB]
    async with db.acquire() as conn, conn.transaction(readonly=True, isolation="repeatable_read"):
        user = await conn.fetchrow(api_queries.USER_NAME, user_id)
        if user is None:
            raise ApiError(
                404, "unknown_user", f"no media server user with id {user_id!r}; GET /api/users lists them"
            )
        suggestions = []
        for kind, media_type in kinds.items():
            rows = await conn.fetch(q.USER_SUGGESTIONS, user_id, kind, media_type)
            suggestions += [_suggestion(r, media_type) for r in rows]
    generated = [s["generated_at"] for s in suggestions]
    return web.json_response(
        {
            "user_id": user_id,
            "user_name": user["name"],
            "kinds": list(kinds),
            "generated_at": max(generated) if generated else None,
            "requests_enabled": requests_enabled(request.app[SETTINGS]),
            "suggestions": suggestions,
        }
    )


async def post_request(request: web.Request) -> web.Response:
    user_id = user_id_from(request)
    kind = request.match_info["kind"]
    kinds: dict[str, TmdbKind] = request.app[DISCOVER_KINDS]
    if kind not in kinds:
        raise ApiError(404, "unknown_kind", f"discovery serves the kinds {', '.join(kinds)}, not {kind!r}")
    raw = request.match_info["tmdb_id"]
    if not raw.isdigit() or not 0 < int(raw) <= MAX_TMDB_ID:
        raise ApiError(400, "invalid_tmdb_id", "a TMDb id is a positive whole number")
    db = request.app[DB]
    if await db.fetchrow(api_queries.USER_NAME, user_id) is None:
        raise ApiError(
            404, "unknown_user", f"no media server user with id {user_id!r}; GET /api/users lists them"
        )
    status, body = await request_suggestion(db, request.app[SETTINGS], user_id, kind, kinds[kind], int(raw))
    return web.json_response(body, status=status)


def setup_routes(app: web.Application, kinds: Sequence[MediaKind]) -> None:
    app[DISCOVER_KINDS] = {
        k.name: TMDB_TYPES[k.collection_type] for k in kinds if k.collection_type in TMDB_TYPES
    }
    app.router.add_get("/api/users/{user_id}/discover", get_discover)
    app.router.add_post("/api/users/{user_id}/discover/{kind}/{tmdb_id}/request", post_request)
