"""The users and backups API of the global jobs (the API's one error shape, validated input).

GET /api/users (paged), GET /api/users/{id}, PATCH /api/users/{id} (the per-kind switches; with
`?apply=true` that user's library runs are queued at once), GET /api/backups (read-only: restoring
or uploading is a CLI step with the sidecar stopped, never an HTTP route).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sidecar.api.errors import ApiError
from sidecar.api.jobs import _body, _query
from sidecar.api.keys import DB, QUEUE, REGISTRY, SETTINGS
from sidecar.jobs.runs import iso, run_to_api
from sidecar.media.kind import MediaKind, Step
from sidecar.mediaserver.base import normalise_id
from sidecar.system import user_queries as q
from sidecar.system.backups import list_backups

MAX_USER_ID_CHARS = 64


@dataclass(frozen=True)
class UserQueries:
    """The users API's SQL for this build's kinds (per-kind counts and library columns)."""

    kinds: tuple[MediaKind, ...]
    list_users: str
    get_user: str

    @classmethod
    def for_kinds(cls, kinds: Sequence[MediaKind]) -> UserQueries:
        columns = ", ".join([q.USER_COLUMNS, *(k.sql(q.KIND_COLUMNS).replace("$K", k.name) for k in kinds)])
        return cls(tuple(kinds), q.LIST_USERS.format(columns=columns), q.GET_USER.format(columns=columns))


USER_QUERIES = web.AppKey("user_queries", UserQueries)


class UsersQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0)
    q: str | None = Field(None, min_length=1, max_length=100, description="part of the name")
    status: Literal["active", "disabled", "removed"] | None = None


class UserSwitches(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    movies_enabled: bool | None = None
    series_enabled: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> UserSwitches:
        if self.movies_enabled is None and self.series_enabled is None:
            raise ValueError("give movies_enabled and/or series_enabled (true or false)")
        return self


class ApplyQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    apply: bool = False


def _iso_text(value: str | None) -> str | None:
    """A timestamp from to_jsonb (the session's offset) in the API's form (UTC, Z)."""
    return iso(dt.datetime.fromisoformat(value)) if value else None


def _library_status(row: asyncpg.Record, key: str, enabled: bool) -> dict[str, Any]:
    library = row[f"{key}_library"]
    if library is None:
        return {"status": "pending" if enabled and row[f"{key}_picks"] else "none"}
    registered = library.get("library_id") is not None
    return {
        "status": "ok" if registered else "pending",
        "name": library.get("library_name"),
        "entries": library.get("entries"),
        "last_synced_at": _iso_text(library.get("last_synced_at")),
    }


def user_to_api(row: asyncpg.Record, kinds: Sequence[MediaKind]) -> dict[str, Any]:
    active = not row["is_disabled"] and row["removed_at"] is None
    per_kind = {}
    for kind in kinds:
        enabled = bool(row[f"{kind.name}_enabled"])
        per_kind[kind.name] = {
            "enabled": enabled,
            "plays": row[f"{kind.name}_plays"],
            "picks": row[f"{kind.name}_picks"],
            "library": _library_status(row, kind.name, enabled and active),
        }
    return {
        "id": row["id"],
        "name": row["name"],
        "is_admin": row["is_admin"],
        "is_disabled": row["is_disabled"],
        "removed_at": iso(row["removed_at"]),
        "last_activity_at": iso(row["last_activity_at"]),
        "first_seen_at": iso(row["created_at"]),
        "active": active,
        "movies_enabled": row["enabled"],
        "series_enabled": row["series_enabled"],
        "kinds": per_kind,
    }


def user_id_from(request: web.Request) -> str:
    raw = request.match_info["user_id"]
    if not raw or len(raw) > MAX_USER_ID_CHARS or not raw.replace("-", "").isalnum():
        raise ApiError(400, "invalid_user_id", "a user id is the media server's id (letters, digits, dashes)")
    return normalise_id(raw)


async def _get_user(request: web.Request, user_id: str) -> dict[str, Any]:
    queries = request.app[USER_QUERIES]
    row = await request.app[DB].fetchrow(queries.get_user, user_id)
    if row is None:
        raise ApiError(
            404, "unknown_user", f"no media server user with id {user_id!r}; GET /api/users lists them"
        )
    return user_to_api(row, queries.kinds)


async def list_users(request: web.Request) -> web.Response:
    query = _query(request, UsersQuery)
    db = request.app[DB]
    queries = request.app[USER_QUERIES]
    rows = await db.fetch(queries.list_users, query.status, query.q, query.limit, query.offset)
    total = await db.fetchval(q.COUNT_USERS, query.status, query.q)
    next_offset = query.offset + len(rows) if query.offset + len(rows) < total else None
    return web.json_response(
        {"users": [user_to_api(r, queries.kinds) for r in rows], "total": total, "next_offset": next_offset}
    )


async def get_user(request: web.Request) -> web.Response:
    return web.json_response(await _get_user(request, user_id_from(request)))


async def patch_user(request: web.Request) -> web.Response:
    user_id = user_id_from(request)
    apply = _query(request, ApplyQuery).apply
    body = await _body(request, UserSwitches)
    db = request.app[DB]
    await _get_user(request, user_id)
    await db.execute(q.SET_SWITCHES, user_id, body.movies_enabled, body.series_enabled)
    queued = []
    if apply:
        # The library run empties (switched off) or fills (switched on, picks permitting) the folder.
        for kind in request.app[USER_QUERIES].kinds:
            job = kind.job(Step.LIBRARIES)
            if getattr(body, f"{kind.name}_enabled", None) is None or job not in request.app[REGISTRY]:
                continue
            row, _ = await request.app[QUEUE].submit(job, trigger="manual", scope={"user_ids": [user_id]})
            queued.append(run_to_api(row))
    return web.json_response({"user": await _get_user(request, user_id), "queued": queued})


async def get_backups(request: web.Request) -> web.Response:
    directory = request.app[SETTINGS].resolved_backup_dir
    backups = await list_backups(request.app[DB], directory)
    return web.json_response({"directory": str(directory), "backups": [b.to_api() for b in backups]})


def setup_routes(app: web.Application, kinds: Sequence[MediaKind]) -> None:
    app[USER_QUERIES] = UserQueries.for_kinds(kinds)
    app.router.add_get("/api/users", list_users)
    app.router.add_get("/api/users/{user_id}", get_user)
    app.router.add_patch("/api/users/{user_id}", patch_user)
    app.router.add_get("/api/backups", get_backups)
