"""Jellyseerr / Overseerr (`overseerr-api.yml`, the same API in both): create a media request.

Auth is the application API key in `X-Api-Key`; the request is then made as the service's first
administrator, whose requests are approved at once (`MediaRequest.request`: ADMIN or AUTO_APPROVE),
which starts downloads. So the sidecar only ever requests when an admin clicks, never by itself.

* `POST /api/v1/request {mediaType: "movie"|"tv", mediaId: <TMDb id>, seasons: [n, ...] (tv)}` ->
  201 `MediaRequest {id, status (1 pending, 2 approved, 3 declined), media {tmdbId, status}, ...}`;
  409 `{message: "Request for this media already exists."}`; 202 `{message: "No seasons available
  to request"}`; 403 `{error}` for a wrong key (server/middleware/auth.ts, routes/request.ts).
* `GET /api/v1/tv/{tmdbId}` -> `TvDetails {seasons: [{seasonNumber, ...}], mediaInfo?}`: the seasons
  a series request names (0, specials, left out).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from sidecar.services.http import ServiceClient, ServiceNotConfigured, ServiceRequestError
from sidecar.settings import Settings

SeerrType = Literal["movie", "tv"]
ALREADY_REQUESTED = 409


@dataclass(frozen=True)
class SeerrRequest:
    """What the service answered a request with."""

    request_id: int | None
    status: int | None  # MediaRequest.status: 1 pending approval, 2 approved, 3 declined
    media_status: int | None  # MediaInfo.status: 1 unknown ... 5 available
    already: bool = False  # the service had it requested already (409) or no season left (202)
    message: str = ""


class SeerrClient(ServiceClient):
    service: ClassVar[str] = "Jellyseerr/Overseerr"
    key_setting: ClassVar[str] = "SIDECAR_SEERR_API_KEY"
    url_setting: ClassVar[str] = "SIDECAR_SEERR_URL"
    default_url: ClassVar[str] = ""
    requests_per_second: ClassVar[float] = 5.0  # an admin's clicks; never a bulk client

    @classmethod
    def secret_from(cls, settings: Settings) -> str:
        """Both the URL and the key must be set (there is no public default service)."""
        if not settings.seerr_url:
            raise ServiceNotConfigured(cls.service, cls.url_setting)
        return super().secret_from(settings)

    def auth(self) -> tuple[dict[str, str], dict[str, str]]:
        return {"X-Api-Key": self._secret}, {}

    def error_text(self, document: Any) -> str:
        if isinstance(document, dict):
            for key in ("message", "error"):
                if isinstance(document.get(key), str):
                    return document[key]
        return ""

    async def seasons(self, tmdb_id: int) -> list[int]:
        """The show's season numbers as the service knows them (specials left out)."""
        document = await self.get_json(f"/api/v1/tv/{int(tmdb_id)}")
        seasons = document.get("seasons") if isinstance(document, dict) else None
        numbers = {s.get("seasonNumber") for s in seasons or [] if isinstance(s, dict)}
        return sorted(n for n in numbers if isinstance(n, int) and not isinstance(n, bool) and n > 0)

    async def request(
        self, media_type: SeerrType, tmdb_id: int, seasons: list[int] | None = None
    ) -> SeerrRequest:
        body: dict[str, Any] = {"mediaType": media_type, "mediaId": int(tmdb_id)}
        if media_type == "tv":
            body["seasons"] = seasons or []
        try:
            # Safe to repeat: a request the service already has answers 409 ("already requested").
            document = await self.post_json("/api/v1/request", body, idempotent=True)
        except ServiceRequestError as exc:
            if exc.status == ALREADY_REQUESTED:
                return SeerrRequest(None, None, None, already=True, message=str(exc))
            raise
        if isinstance(document, dict) and "id" not in document and "message" in document:
            # 202 {"message": "No seasons available to request"}: every season is requested already.
            return SeerrRequest(None, None, None, already=True, message=self.error_text(document))
        media = document.get("media") if isinstance(document, dict) else None
        return SeerrRequest(
            request_id=_int(document.get("id")) if isinstance(document, dict) else None,
            status=_int(document.get("status")) if isinstance(document, dict) else None,
            media_status=_int(media.get("status")) if isinstance(media, dict) else None,
        )


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
