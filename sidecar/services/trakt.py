"""Trakt API client (https://trakt.docs.apiary.io): the device-code OAuth flow, token refresh, and a
user's ratings, watch history and last activities. Built on the shared base (`http.py`): rate limit,
bounded retries honouring Retry-After, typed errors, secrets out of every text.

Every call carries `trakt-api-version: 2` and `trakt-api-key: <client id>`; user calls add
`Authorization: Bearer <access token>`. A 403 means the client id is wrong or the app unapproved
(ServiceAuthError naming SIDECAR_TRAKT_CLIENT_ID); a 401 on a user call means that user's token is no
longer valid (TraktUserAuthError: that user must link again; the others go on). The device flow
answers in status codes: 200 tokens, 400 pending, 404 invalid code, 409 already used, 410 expired,
418 denied, 429 slow down (see sidecar/simulator/services/trakt.py for the sources checked).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from sidecar.services.http import (
    ServiceAuthError,
    ServiceClient,
    ServiceNotConfigured,
    ServiceRequestError,
)
from sidecar.settings import Settings

CLIENT_SECRET_SETTING = "SIDECAR_TRAKT_CLIENT_SECRET"
REDIRECT_URI = "urn:ietf:wg:oauth:2.0:oob"  # what Trakt expects from apps without a redirect
HISTORY_PAGE_LIMIT = 250  # entries per history page; the pagination headers say what was applied
MAX_PAGES = 10_000  # a bound on a listing whose page count keeps growing

DeviceState = Literal["granted", "pending", "slow_down", "invalid", "used", "expired", "denied"]
_DEVICE_STATES: dict[int, DeviceState] = {
    200: "granted",
    400: "pending",
    404: "invalid",
    409: "used",
    410: "expired",
    418: "denied",
    429: "slow_down",
}


class TraktUserAuthError(Exception):
    """A user's access or refresh token was refused: only linking again helps."""

    def __init__(self, what: str) -> None:
        super().__init__(f"Trakt refused this user's authorisation ({what}); link the Trakt account again")


@dataclass(frozen=True)
class Tokens:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: dt.datetime

    @classmethod
    def from_answer(cls, document: Any, now: dt.datetime) -> Tokens:
        if (
            not isinstance(document, dict)
            or not document.get("access_token")
            or not document.get("refresh_token")
        ):
            raise ServiceRequestError("Trakt", "Trakt answered the token request without tokens", 200)
        created = document.get("created_at")
        start = dt.datetime.fromtimestamp(created, dt.UTC) if isinstance(created, int | float) else now
        return cls(
            str(document["access_token"]),
            str(document["refresh_token"]),
            start + dt.timedelta(seconds=float(document.get("expires_in") or 0)),
        )


@dataclass(frozen=True)
class DeviceCode:
    device_code: str = field(repr=False)
    user_code: str
    verification_url: str
    expires_in: int
    interval: int


@dataclass(frozen=True)
class DevicePoll:
    state: DeviceState
    tokens: Tokens | None = None


class TraktClient(ServiceClient):
    service: ClassVar[str] = "Trakt"
    key_setting: ClassVar[str] = "SIDECAR_TRAKT_CLIENT_ID"
    url_setting: ClassVar[str] = "SIDECAR_TRAKT_URL"
    default_url: ClassVar[str] = "https://api.trakt.tv"
    # Trakt limits authenticated GETs per user (1,000 per 5 minutes); one import asks a few pages.
    requests_per_second: ClassVar[float] = 10.0

    def __init__(self, secret: str, *, client_secret: str, **options: Any) -> None:
        super().__init__(secret, **options)
        self._client_secret = client_secret

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> TraktClient:
        secret = settings.trakt_client_secret
        if secret is None or not secret.get_secret_value():
            cls.secret_from(settings)  # names the client id first when both are missing
            raise ServiceNotConfigured(cls.service, CLIENT_SECRET_SETTING)
        client = super().from_settings(settings, client_secret=secret.get_secret_value(), **overrides)
        assert isinstance(client, TraktClient)
        return client

    def auth(self) -> tuple[dict[str, str], dict[str, str]]:
        return {"trakt-api-version": "2", "trakt-api-key": self._secret}, {}

    def redact(self, text: str) -> str:
        text = super().redact(text)
        return text.replace(self._client_secret, "**********") if self._client_secret else text

    def error_text(self, document: Any) -> str:
        if isinstance(document, dict):
            return str(document.get("error_description") or document.get("error") or "")
        return ""

    def _client_body(self) -> dict[str, str]:
        return {"client_id": self._secret, "client_secret": self._client_secret}

    def _oauth_refused(self, document: Any) -> ServiceAuthError:
        return ServiceAuthError(
            self.service,
            f"{self.key_setting} and {CLIENT_SECRET_SETTING}",
            self.redact(self.error_text(document)),
        )

    # --- the device flow ---------------------------------------------------------------------------
    async def device_code(self) -> DeviceCode:
        answer = await self.send("POST", "/oauth/device/code", json={"client_id": self._secret})
        doc = answer.document
        if not isinstance(doc, dict) or not doc.get("device_code") or not doc.get("user_code"):
            raise ServiceRequestError(
                self.service, "Trakt answered the device code request without a code", 200
            )
        return DeviceCode(
            str(doc["device_code"]),
            str(doc["user_code"]),
            str(doc.get("verification_url") or "https://trakt.tv/activate"),
            int(doc.get("expires_in") or 600),
            max(1, int(doc.get("interval") or 5)),
        )

    async def poll_device(self, device_code: str, now: dt.datetime) -> DevicePoll:
        """One poll of `POST /oauth/device/token`; the caller keeps to the interval."""
        answer = await self.send(
            "POST",
            "/oauth/device/token",
            json={"code": device_code, **self._client_body()},
            passthrough=frozenset(_DEVICE_STATES) | {401},
            retries=0,  # a granted answer that is lost cannot be asked again (409): poll next time
        )
        if answer.status == 401:
            raise self._oauth_refused(answer.document)
        state = _DEVICE_STATES[answer.status]
        tokens = Tokens.from_answer(answer.document, now) if state == "granted" else None
        return DevicePoll(state, tokens)

    async def refresh(self, refresh_token: str, now: dt.datetime) -> Tokens:
        """New access and refresh tokens; the old refresh token is spent (store both at once)."""
        answer = await self.send(
            "POST",
            "/oauth/token",
            json={
                "refresh_token": refresh_token,
                **self._client_body(),
                "redirect_uri": REDIRECT_URI,
                "grant_type": "refresh_token",
            },
            passthrough=frozenset({400, 401}),
            retries=0,
        )
        if answer.status in (400, 401):
            error = self.error_text(answer.document)
            if isinstance(answer.document, dict) and answer.document.get("error") == "invalid_client":
                raise self._oauth_refused(answer.document)
            raise TraktUserAuthError(f"refresh refused: {self.redact(error) or answer.status}")
        return Tokens.from_answer(answer.document, now)

    async def revoke(self, access_token: str) -> None:
        await self.send(
            "POST", "/oauth/revoke", json={"token": access_token, **self._client_body()}, retries=0
        )

    # --- a user's data --------------------------------------------------------------------------------
    async def _user_get(
        self, access_token: str, path: str, params: dict[str, str | int] | None = None
    ) -> Any:
        answer = await self.send(
            "GET",
            path,
            params=params,
            headers={"Authorization": f"Bearer {access_token}"},
            passthrough=frozenset({401}),
        )
        if answer.status == 401:
            raise TraktUserAuthError(f"GET {path} answered 401")
        return answer

    async def last_activities(self, access_token: str) -> dict[str, Any]:
        answer = await self._user_get(access_token, "/sync/last_activities")
        return answer.document if isinstance(answer.document, dict) else {}

    async def ratings(self, access_token: str, kind: Literal["movies", "shows", "episodes"]) -> list[Any]:
        """Every rating of a type (one unpaged listing, as Trakt serves it without `page`)."""
        answer = await self._user_get(access_token, f"/sync/ratings/{kind}")
        return answer.document if isinstance(answer.document, list) else []

    async def history(
        self, access_token: str, kind: Literal["movies", "episodes"], *, limit: int = HISTORY_PAGE_LIMIT
    ) -> AsyncIterator[list[Any]]:
        """The whole watch history of a type, page by page (newest first), following the
        X-Pagination-Page-Count header."""
        page = 1
        while page <= MAX_PAGES:
            answer = await self._user_get(
                access_token, f"/sync/history/{kind}", {"page": page, "limit": limit}
            )
            yield answer.document if isinstance(answer.document, list) else []
            try:
                pages = int(answer.headers.get("X-Pagination-Page-Count", "1"))
            except ValueError:
                pages = 1
            if page >= pages:
                return
            page += 1
