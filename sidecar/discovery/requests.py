"""Requesting a suggestion from Jellyseerr/Overseerr: one admin click, one request, never automatic.

The service approves an administrator's request at once and starts downloads, so this runs only
from `POST /api/users/{id}/discover/{kind}/{tmdb_id}/request` (behind the API key like every other
state change), only for a title that is one of that user's current suggestions, and only once per
title (a title requested before answers 409 with that request). Every attempt is recorded in
`discovery_requests`, failures with what went wrong (the key never in it).
"""

from __future__ import annotations

from typing import Any

import asyncpg

from sidecar.api.errors import ApiError
from sidecar.discovery import queries as q
from sidecar.jobs.runs import iso
from sidecar.services.http import (
    ServiceAuthError,
    ServiceError,
    ServiceNotConfigured,
    ServiceUnavailable,
)
from sidecar.services.seerr import SeerrClient, SeerrType
from sidecar.settings import Settings


def request_to_api(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "user_id": row["user_id"],
        "kind": row["kind"],
        "tmdb_id": row["tmdb_id"],
        "title": row["title"],
        "seasons": list(row["seasons"]) if row["seasons"] is not None else None,
        "status": row["status"],
        "service_request_id": row["seerr_request_id"],
        "service_status": row["seerr_status"],
        "error": row["error"],
        "requested_at": iso(row["requested_at"]),
    }


def requests_enabled(settings: Settings) -> bool:
    return SeerrClient.is_configured(settings)


def _client(settings: Settings) -> SeerrClient:
    try:
        client = SeerrClient.from_settings(settings)
    except ServiceNotConfigured:
        raise ApiError(
            409,
            "requests_not_configured",
            "requesting needs Jellyseerr or Overseerr: set SIDECAR_SEERR_URL and SIDECAR_SEERR_API_KEY",
        ) from None
    assert isinstance(client, SeerrClient)
    return client


async def request_suggestion(
    db: asyncpg.Pool, settings: Settings, user_id: str, kind: str, media_type: SeerrType, tmdb_id: int
) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of one admin's request of one of `user_id`'s suggestions."""
    client = _client(settings)
    try:
        suggestion = await db.fetchrow(q.SUGGESTION, user_id, kind, tmdb_id, media_type)
        if suggestion is None:
            raise ApiError(
                404,
                "unknown_suggestion",
                f"TMDb {media_type} {tmdb_id} is not among this user's {kind} suggestions; "
                f"GET /api/users/{user_id}/discover lists them",
            )
        earlier = await db.fetchrow(q.ACTIVE_REQUEST, kind, tmdb_id)
        if earlier is not None:
            raise ApiError(
                409,
                "already_requested",
                f"{suggestion['title']} was requested at {iso(earlier['requested_at'])}",
            )
        return await _send(db, client, user_id, kind, media_type, tmdb_id, suggestion["title"])
    finally:
        await client.close()


async def _send(
    db: asyncpg.Pool,
    client: SeerrClient,
    user_id: str,
    kind: str,
    media_type: SeerrType,
    tmdb_id: int,
    title: str,
) -> tuple[int, dict[str, Any]]:
    seasons: list[int] | None = None
    try:
        if media_type == "tv":
            seasons = await client.seasons(tmdb_id)
        answer = await client.request(media_type, tmdb_id, seasons)
    except ServiceError as exc:
        await db.fetchrow(
            q.INSERT_REQUEST, user_id, kind, tmdb_id, title, seasons, "failed", None, None, str(exc)
        )
        if isinstance(exc, ServiceAuthError):
            raise ApiError(502, "seerr_auth", str(exc)) from None
        if isinstance(exc, ServiceUnavailable):
            raise ApiError(503, "seerr_unavailable", str(exc)) from None
        raise ApiError(502, "seerr_error", str(exc)) from None
    row = await db.fetchrow(
        q.INSERT_REQUEST, user_id, kind, tmdb_id, title, seasons, "requested",
        answer.request_id, answer.status, answer.message or None,
    )  # fmt: skip
    body = {"request": request_to_api(row), "already_requested_on_service": answer.already}
    return (200 if answer.already else 201), body
