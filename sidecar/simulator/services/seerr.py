"""A simulated Jellyseerr/Overseerr: the request endpoint and the TV details it needs, as the real one.

Modelled on Overseerr (`overseerr-api.yml`; server/routes/request.ts, server/entity/MediaRequest.ts,
server/middleware/auth.ts; Jellyseerr is a fork with the same API):
* the application key in `X-Api-Key` acts as the first administrator; another key (or none) gets
  403 `{status: 403, error: "You do not have permission to access this endpoint"}`;
* `POST /api/v1/request {mediaType, mediaId, seasons}`: an administrator's request is approved at
  once -> 201 `MediaRequest` (status 2, media status 2 pending); a second request of a movie (or of a
  show whose seasons are all requested) -> 409 `{message: "Request for this media already exists."}`
  (movie) or 202 `{message: "No seasons available to request"}` (tv); a tv request without
  `seasons` fails inside the service (500), as Overseerr's `requestBody.seasons.filter` does;
* `GET /api/v1/tv/{tmdbId}` -> `{id, name, seasons: [{seasonNumber, episodeCount, ...}]}`.
State (`requests`, `bodies`, `down`) is inspectable for tests.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

DEFAULT_KEY = "seerr-simulated-api-key"
ADMIN = {
    "id": 1, "email": "admin@example.org", "username": "admin", "userType": 2, "permissions": 2,
    "avatar": "/avatarproxy/admin", "requestCount": 0,
}  # fmt: skip
APPROVED, MEDIA_PENDING = 2, 2
_FORBIDDEN = {"status": 403, "error": "You do not have permission to access this endpoint"}


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class SeerrSimulator:
    api_key: str = DEFAULT_KEY
    seasons: dict[int, int] = field(default_factory=dict)  # tv TMDb id -> seasons (default 3)
    down: bool = False
    requests: list[dict[str, Any]] = field(default_factory=list)  # MediaRequest documents made
    bodies: list[Any] = field(default_factory=list)  # every POST body received
    calls: Counter[str] = field(default_factory=Counter)  # "POST /api/v1/request" -> count
    _requested: dict[tuple[str, int], set[int]] = field(default_factory=dict)

    def create_app(self) -> web.Application:
        app = web.Application(middlewares=[self._gate])
        app.router.add_post("/api/v1/request", self._request)
        app.router.add_get("/api/v1/tv/{tmdb_id}", self._tv)
        return app

    @web.middleware
    async def _gate(self, request: web.Request, handler: Any) -> web.StreamResponse:
        resource = request.match_info.route.resource
        self.calls[f"{request.method} {resource.canonical if resource else request.path}"] += 1
        if self.down:
            return web.json_response({"message": "Service Unavailable"}, status=503)
        if request.headers.get("X-Api-Key") != self.api_key:
            return web.json_response(_FORBIDDEN, status=403)
        return await handler(request)

    def _season_numbers(self, tmdb_id: int) -> list[int]:
        return list(range(1, self.seasons.get(tmdb_id, 3) + 1))

    async def _tv(self, request: web.Request) -> web.Response:
        tmdb_id = int(request.match_info["tmdb_id"]) if request.match_info["tmdb_id"].isdigit() else 0
        seasons = [{"id": tmdb_id * 100, "seasonNumber": 0, "name": "Specials", "episodeCount": 2}] + [
            {"id": tmdb_id * 100 + n, "seasonNumber": n, "name": f"Season {n}", "episodeCount": 10}
            for n in self._season_numbers(tmdb_id)
        ]
        return web.json_response({"id": tmdb_id, "name": f"Show {tmdb_id}", "seasons": seasons})

    async def _request(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"message": "Unexpected token in JSON"}, status=400)
        self.bodies.append(body)
        media_type, media_id = body.get("mediaType"), body.get("mediaId")
        if media_type not in ("movie", "tv") or not isinstance(media_id, int):
            return web.json_response({"message": "Invalid mediaType or mediaId"}, status=400)
        key = (media_type, media_id)
        if media_type == "movie":
            if key in self._requested:
                return web.json_response({"message": "Request for this media already exists."}, status=409)
            self._requested[key] = set()
            return web.json_response(self._made(media_type, media_id, []), status=201)
        wanted = body.get("seasons")
        if wanted == "all":
            wanted = self._season_numbers(media_id)
        if not isinstance(wanted, list):
            return web.json_response(
                {"message": "Cannot read properties of undefined (reading 'filter')"}, status=500
            )
        fresh = [n for n in wanted if n not in self._requested.get(key, set())]
        if not fresh:
            return web.json_response({"message": "No seasons available to request"}, status=202)
        self._requested.setdefault(key, set()).update(fresh)
        return web.json_response(self._made(media_type, media_id, fresh), status=201)

    def _made(self, media_type: str, media_id: int, seasons: list[int]) -> dict[str, Any]:
        stamp = _now()
        number = len(self.requests) + 1
        document = {
            "id": number,
            "status": APPROVED,
            "media": {
                "id": 1000 + number, "mediaType": media_type, "tmdbId": media_id, "tvdbId": None,
                "status": MEDIA_PENDING, "status4k": 1, "createdAt": stamp, "updatedAt": stamp,
            },
            "createdAt": stamp, "updatedAt": stamp, "type": media_type, "is4k": False,
            "serverId": 0, "profileId": 4, "rootFolder": "/media", "languageProfileId": None,
            "requestedBy": ADMIN, "modifiedBy": ADMIN, "isAutoRequest": False,
            "seasonCount": len(seasons),
            "seasons": [
                {"id": number * 100 + n, "seasonNumber": n, "status": APPROVED, "createdAt": stamp, "updatedAt": stamp}
                for n in seasons
            ],
        }  # fmt: skip
        self.requests.append(document)
        return document
