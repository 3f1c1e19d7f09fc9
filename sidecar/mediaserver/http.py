"""The HTTP layer both dialects share: auth header, timeouts, retries with backoff, clear errors.

Retried: connection errors, timeouts, 5xx and 429 (waiting what Retry-After asks), but only for
idempotent calls: every GET, and the POSTs a caller marks `idempotent` (a full policy, a queued
refresh, a played mark). A create (`POST /Library/VirtualFolders`, add-path) may have been done
although its answer was lost: Jellyfin then makes "Name2" or links the folder twice, so its caller
re-reads the server's state instead (`client.py`). Never retried: 401/403 (a wrong key stays wrong)
and other 4xx. Error messages name the method and path only, never
the query string or headers, so a key can not leak through them.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
import structlog

from sidecar.mediaserver.base import MediaServerAuthError, MediaServerError
from sidecar.untrusted import clean_json, may_hold_unclean_text

log = structlog.get_logger(__name__)

AUTH_ERROR_MESSAGE = "the media server rejected the API key; check SIDECAR_MEDIA_SERVER_API_KEY"
MAX_BACKOFF_SECONDS = 30.0
MAX_RETRY_AFTER_SECONDS = 120.0
CLIENT_NAME = "AI Picks sidecar"
CLIENT_VERSION = "0.1.0"

QueryParams = Mapping[str, str | int | bool]
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD"})


class MediaServerStatusError(MediaServerError):
    """A non-retryable HTTP status other than 401/403 (for example 400 or 404)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def jellyfin_auth_headers(api_key: str) -> dict[str, str]:
    """Jellyfin 10.11 and 12: the `MediaBrowser` scheme is the one carrier that is never legacy."""
    return {
        "Authorization": f'MediaBrowser Client="{CLIENT_NAME}", Device="sidecar", '
        f'DeviceId="ai-picks-sidecar", Version="{CLIENT_VERSION}", Token="{api_key}"'
    }


def emby_auth_headers(api_key: str) -> dict[str, str]:
    return {"X-Emby-Token": api_key}


def _format_param(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class MediaServerHttp:
    """One base URL + auth headers; JSON in, JSON out."""

    def __init__(
        self,
        base_url: str,
        auth_headers: dict[str, str],
        *,
        timeout_seconds: float,
        retries: int,
        backoff_seconds: float = 0.5,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._auth_headers = auth_headers
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._timeout_seconds = timeout_seconds
        self._retries = retries
        self._backoff = backoff_seconds
        self._session = session
        self._owns_session = session is None

    @property
    def retries(self) -> int:
        return self._retries

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    async def close(self) -> None:
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()

    def _delay(self, attempt: int) -> float:
        """Exponential backoff with jitter: 0.5, 1, 2, 4 ... seconds (x 0.5-1.0)."""
        base = min(MAX_BACKOFF_SECONDS, self._backoff * (2**attempt))
        return base * (0.5 + random.random() / 2)

    async def get_json(self, path: str, params: QueryParams | None = None, *, anonymous: bool = False) -> Any:
        return await self.request("GET", path, params=params, anonymous=anonymous)

    async def post(
        self, path: str, params: QueryParams | None = None, json_body: Any = None, *, idempotent: bool = False
    ) -> Any:
        """A POST is sent once unless the caller says repeating it changes nothing."""
        return await self.request("POST", path, params=params, json_body=json_body, idempotent=idempotent)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: QueryParams | None = None,
        json_body: Any = None,
        anonymous: bool = False,
        idempotent: bool | None = None,
    ) -> Any:
        """Send one request (retried when idempotent: GETs by default); returns parsed JSON, or None
        for an empty body."""
        retries = self._retries if (method in IDEMPOTENT_METHODS if idempotent is None else idempotent) else 0
        url = self.base_url + path
        query = {k: _format_param(v) for k, v in (params or {}).items()}
        headers = {"Accept": "application/json"}
        if not anonymous:
            headers.update(self._auth_headers)
        what = f"{method} {path}"
        attempt = 0
        while True:
            wait: float | None = None
            try:
                async with self._get_session().request(
                    method, url, params=query, json=json_body, headers=headers, timeout=self._timeout
                ) as response:
                    status = response.status
                    if status in (401, 403):
                        raise MediaServerAuthError(AUTH_ERROR_MESSAGE)
                    if status < 400:
                        body = await response.read()
                        if not body.strip():
                            return None
                        try:
                            document = await response.json(content_type=None)
                            # Server text (user names, titles) may hold NUL, which PostgreSQL refuses.
                            return clean_json(document) if may_hold_unclean_text(body) else document
                        except ValueError as exc:
                            raise MediaServerError(
                                f"{what}: the media server sent a body that is not JSON ({exc})"
                            ) from None
                    if status == 429 or status >= 500:
                        wait = parse_retry_after(response.headers.get("Retry-After"))
                        problem = f"HTTP {status}"
                    else:
                        text = (await response.text())[:200]
                        raise MediaServerStatusError(
                            f"{what}: the media server answered HTTP {status}: {text}", status
                        )
            except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
                problem = f"connection failed ({type(exc).__name__})"
            except TimeoutError:
                problem = f"no answer within {self._timeout_seconds:g} s"
            if attempt >= retries:
                raise MediaServerError(
                    f"{what}: {problem} after {attempt + 1} attempt(s); "
                    "check that the media server is running and SIDECAR_MEDIA_SERVER_URL is right"
                )
            delay = self._delay(attempt)
            if wait is not None:
                delay = min(MAX_RETRY_AFTER_SECONDS, max(wait, 0.0))
            log.warning("media server request failed; retrying", request=what, problem=problem, delay=delay)
            attempt += 1
            await asyncio.sleep(delay)
