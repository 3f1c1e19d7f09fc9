"""The base every outside-service client shares: one session, a rate limit, bounded retries, typed
errors, and the service's secret kept out of every text it produces.

A client is a subclass that declares its name, its settings and its limits, and how its key travels
(`auth`); a service that answers errors in a 200 body (OMDb) also overrides `check`. Calls:
`get_json`, `post_json` (sent once unless marked idempotent), `request_json`. Callers see
five outcomes besides an answer, each a type they can act on:

* `ServiceNotConfigured(setting)`: no key; the job completes with `not configured` naming it.
* `ServiceAuthError(setting)`: the key was refused; a job fails once with "check SIDECAR_X".
* `ServiceNotFound`: the service has no such item (TMDb 404): mark it, retry much later.
* `ServiceUnavailable`: no usable answer after bounded retries (timeouts, 429, 5xx, connection
  refused); the item stays queued, and a job that sees it over and over stops and says so.
* `QuotaSpent`: a daily budget is used up; stop calling the service until it renews.

Retried: timeouts, connection errors, 429 and 5xx, waiting what `Retry-After` asks (a 429 pauses
every request of this client, not only the one that got it). Error messages name the service, the
method and the path, never the query string or a header, and the secret is blanked from any text
taken from an answer.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import aiohttp
import structlog
from pydantic import SecretStr

from sidecar.logs import REDACTED
from sidecar.mediaserver.http import parse_retry_after
from sidecar.settings import Settings
from sidecar.untrusted import clean_json, may_hold_unclean_text

log = structlog.get_logger(__name__)

MAX_BACKOFF_SECONDS = 30.0
# A Retry-After longer than this is not waited for: the request fails now and is left for the next run.
MAX_RETRY_AFTER_SECONDS = 60.0
ERROR_TEXT_CHARS = 200

UnavailableReason = Literal["timeout", "connection", "rate_limited", "server_error"]
Params = Mapping[str, str | int]


# --- errors ------------------------------------------------------------------------------------------
class ServiceError(Exception):
    """Anything that went wrong talking to an outside service; `service` names it ("TMDb")."""

    def __init__(self, service: str, message: str) -> None:
        super().__init__(message)
        self.service = service


class ServiceNotConfigured(ServiceError):
    def __init__(self, service: str, setting: str) -> None:
        super().__init__(service, f"{service} is not configured: set {setting}")
        self.setting = setting


class ServiceAuthError(ServiceError):
    def __init__(self, service: str, setting: str, detail: str = "") -> None:
        said = f" ({detail})" if detail else ""
        super().__init__(service, f"{service} rejected the key{said}; check {setting}")
        self.setting = setting


class ServiceNotFound(ServiceError):
    """The service answered that it does not know the item."""


class ServiceRequestError(ServiceError):
    """Another 4xx: our request was wrong; retrying it changes nothing."""

    def __init__(self, service: str, message: str, status: int) -> None:
        super().__init__(service, message)
        self.status = status


class ServiceUnavailable(ServiceError):
    """No usable answer after the bounded retries; `reason` says why."""

    def __init__(self, service: str, message: str, reason: UnavailableReason) -> None:
        super().__init__(service, message)
        self.reason = reason


class QuotaSpent(ServiceError):
    """A daily request budget is used up (counted by us, or announced by the service)."""


@dataclass(frozen=True)
class ServiceAnswer:
    """An answer of `send`: the status, the JSON body (None when empty or not JSON), the headers."""

    status: int
    document: Any
    headers: Mapping[str, str]


# --- rate limit --------------------------------------------------------------------------------------
class RateLimiter:
    """A token bucket shared by every request of one client: `per_second` on average, at most `burst`
    at once; `pause` holds every caller back (a 429's Retry-After applies to the whole client)."""

    def __init__(self, per_second: float, burst: int | None = None) -> None:
        self.per_second = per_second
        # A tenth of a second's worth: a waiter the event loop wakes late catches up instead of the
        # lost time lowering the rate (at 50/s a 10 ms late wake-up would cost a third).
        self._burst = float(max(1, int(per_second / 10) if burst is None else burst))
        self._tokens = self._burst
        self._stamp = time.monotonic()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    async def acquire(self) -> None:
        # Waiters queue on the lock, so they are served in arrival order.
        async with self._lock:
            while True:
                now = time.monotonic()
                if now < self._paused_until:
                    await asyncio.sleep(self._paused_until - now)
                    continue
                self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self.per_second)
                self._stamp = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                await asyncio.sleep((1.0 - self._tokens) / self.per_second)


# --- the base client ---------------------------------------------------------------------------------
class ServiceClient:
    """One outside service: base URL, secret, rate limit, retries. Subclasses set the class fields and
    `auth`; `get_json` is the one way to call the service."""

    service: ClassVar[str]  # shown in every message: "TMDb"
    key_setting: ClassVar[str]  # "SIDECAR_TMDB_API_KEY"
    url_setting: ClassVar[str]  # "SIDECAR_TMDB_URL"
    default_url: ClassVar[str]
    requests_per_second: ClassVar[float] = 10.0  # a subclass may read its own setting instead

    def __init__(
        self,
        secret: str,
        *,
        base_url: str | None = None,
        requests_per_second: float | None = None,
        timeout_seconds: float = 10.0,
        retries: int = 3,
        backoff_seconds: float = 0.5,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self._secret = secret
        self.base_url = (base_url or self.default_url).rstrip("/")
        self.limiter = RateLimiter(requests_per_second or self.requests_per_second)
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._timeout_seconds = timeout_seconds
        self._retries = retries
        self._backoff = backoff_seconds
        self._session = session
        self._owns_session = session is None
        self.requests = 0  # HTTP requests sent, retries included

    # --- construction from settings ------------------------------------------------------------------
    @classmethod
    def setting_value(cls, settings: Settings, setting: str) -> Any:
        """`SIDECAR_TMDB_API_KEY` -> settings.tmdb_api_key (one spelling of each name, the variable's)."""
        return getattr(settings, setting.removeprefix("SIDECAR_").lower())

    @classmethod
    def secret_from(cls, settings: Settings) -> str:
        """The configured secret, or ServiceNotConfigured naming the variable to set."""
        value = cls.setting_value(settings, cls.key_setting)
        secret = value.get_secret_value() if isinstance(value, SecretStr) else value
        if not secret:
            raise ServiceNotConfigured(cls.service, cls.key_setting)
        return str(secret)

    @classmethod
    def is_configured(cls, settings: Settings) -> bool:
        try:
            cls.secret_from(settings)
        except ServiceNotConfigured:
            return False
        return True

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> ServiceClient:
        options: dict[str, Any] = {
            "base_url": cls.setting_value(settings, cls.url_setting),
            "timeout_seconds": settings.service_timeout_seconds,
            "retries": settings.service_retries,
        }
        options.update(overrides)
        return cls(cls.secret_from(settings), **options)

    # --- what a subclass declares --------------------------------------------------------------------
    def auth(self) -> tuple[dict[str, str], dict[str, str]]:
        """Headers and query parameters that carry the secret."""
        raise NotImplementedError

    def check(self, status: int, document: Any, what: str) -> None:
        """Raise for an answer that is an error whatever its status (OMDb's 200 with `Error`)."""

    def error_text(self, document: Any) -> str:
        """The service's own words about an error, for messages."""
        return ""

    # --- plumbing ------------------------------------------------------------------------------------
    async def __aenter__(self) -> ServiceClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    def redact(self, text: str) -> str:
        """The secret blanked wherever it appears (an echoed URL in an error body, a proxy page)."""
        return text.replace(self._secret, REDACTED) if self._secret else text

    def _delay(self, attempt: int) -> float:
        base = min(MAX_BACKOFF_SECONDS, self._backoff * (2**attempt))
        return base * (0.5 + random.random() / 2)

    async def get_json(self, path: str, params: Params | None = None) -> Any:
        """GET one JSON document; retried within bounds; raises the typed errors above."""
        return await self.request_json("GET", path, params)

    async def post_json(
        self, path: str, body: Any, params: Params | None = None, *, idempotent: bool = False
    ) -> Any:
        """POST a JSON body. Sent once unless the caller says repeating it changes nothing: a create
        whose answer was lost may have been done."""
        return await self.request_json("POST", path, params, body=body, idempotent=idempotent)

    async def request_json(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        *,
        body: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        """One request, its JSON answer (None when empty); retried within bounds when idempotent
        (GET by default)."""
        retries = self._retries if (method == "GET" if idempotent is None else idempotent) else 0
        return (await self.send(method, path, params=params, json=body, retries=retries)).document

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        passthrough: frozenset[int] = frozenset(),
        retries: int | None = None,
    ) -> ServiceAnswer:
        """`request_json` with the whole answer: `headers` are added to the auth ones (a user's
        token), a status in `passthrough` is handed back instead of raised (Trakt's device flow
        speaks in 4xx codes), and the answer's headers come along (pagination). `retries`: None =
        the client's for a GET, none for anything else (as `request_json`)."""
        auth_headers, auth_params = self.auth()
        headers = {"Accept": "application/json", **auth_headers, **(headers or {})}
        query = {k: str(v) for k, v in (params or {}).items()} | auth_params
        what = f"{self.service} {method} {path}"
        if retries is None:
            retries = self._retries if method == "GET" else 0
        attempt = 0
        while True:
            await self.limiter.acquire()
            self.requests += 1
            wait: float | None = None
            reason: UnavailableReason
            try:
                async with self._get_session().request(
                    method,
                    self.base_url + path,
                    params=query,
                    json=json,
                    headers=headers,
                    timeout=self._timeout,
                ) as response:
                    status = response.status
                    document = await self._read(response)
                    if status in passthrough:
                        return ServiceAnswer(status, document, response.headers)
                    self.check(status, document, what)
                    if status < 400:
                        return ServiceAnswer(status, document, response.headers)
                    said = self.redact(self.error_text(document))[:ERROR_TEXT_CHARS]
                    if status in (401, 403):
                        raise ServiceAuthError(self.service, self.key_setting, said)
                    if status == 404:
                        raise ServiceNotFound(self.service, f"{what}: not found ({said or status})")
                    if status == 429:
                        wait, reason = parse_retry_after(response.headers.get("Retry-After")), "rate_limited"
                        if wait is not None:
                            self.limiter.pause(min(wait, MAX_RETRY_AFTER_SECONDS))
                    elif status >= 500:
                        reason = "server_error"
                    else:
                        raise ServiceRequestError(self.service, f"{what}: HTTP {status}: {said}", status)
                    problem = f"HTTP {status}" + (f" ({said})" if said else "")
            except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
                problem, reason = f"connection failed ({type(exc).__name__})", "connection"
            except TimeoutError:
                problem, reason = f"no answer within {self._timeout_seconds:g} s", "timeout"
            too_long = wait is not None and wait > MAX_RETRY_AFTER_SECONDS
            if attempt >= retries or too_long:
                raise ServiceUnavailable(
                    self.service,
                    f"{what}: {problem} after {attempt + 1} attempt(s); check that {self.service} is "
                    f"reachable ({self.url_setting})",
                    reason,
                )
            delay = wait if wait is not None else self._delay(attempt)
            log.info("service request failed; retrying", request=what, problem=problem, delay=round(delay, 2))
            attempt += 1
            await asyncio.sleep(delay)

    async def _read(self, response: aiohttp.ClientResponse) -> Any:
        """The body as JSON, None when empty or not JSON (an HTML error page of a proxy)."""
        body = await response.read()
        if not body.strip():
            return None
        try:
            document = await response.json(content_type=None)
        except ValueError:
            return None
        return clean_json(document) if may_hold_unclean_text(body) else document
