"""The shared base of outside-service clients (sidecar/services/http.py), against small aiohttp apps:
what is retried and for how long, Retry-After, the typed errors, and the secret kept out of errors."""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

import pytest
from aiohttp import web

from sidecar.services.http import (
    RateLimiter,
    ServiceAuthError,
    ServiceClient,
    ServiceNotConfigured,
    ServiceNotFound,
    ServiceRequestError,
    ServiceUnavailable,
)
from sidecar.services.tmdb import TmdbClient
from sidecar.settings import Settings
from sidecar.simulator.services import serve

SECRET = "s3cret-value-that-must-never-leak"


class EchoClient(ServiceClient):
    """A minimal subclass: what a new service declares."""

    service: ClassVar[str] = "Echo"
    key_setting: ClassVar[str] = "SIDECAR_TMDB_API_KEY"
    url_setting: ClassVar[str] = "SIDECAR_TMDB_URL"
    default_url: ClassVar[str] = "http://127.0.0.1:9"

    def auth(self) -> tuple[dict[str, str], dict[str, str]]:
        return {"X-Key": self._secret}, {}


def _app(answers: list[tuple[int, Any, dict[str, str]]], seen: list[float]) -> web.Application:
    """Answers the queued (status, body, headers) in order, the last one for ever after."""

    async def handler(request: web.Request) -> web.Response:
        seen.append(time.monotonic())
        status, body, headers = answers.pop(0) if len(answers) > 1 else answers[0]
        return web.json_response(body, status=status, headers=headers)

    app = web.Application()
    app.router.add_get("/thing", handler)
    return app


async def test_429_waits_for_retry_after_then_answers() -> None:
    seen: list[float] = []
    answers = [(429, {}, {"Retry-After": "0.3"}), (200, {"ok": True}, {})]
    async with serve(_app(answers, seen)) as url, EchoClient(SECRET, base_url=url, retries=2) as client:
        assert await client.get_json("/thing") == {"ok": True}
    assert client.requests == 2
    assert seen[1] - seen[0] >= 0.28


async def test_5xx_retried_a_bounded_number_of_times_then_unavailable() -> None:
    seen: list[float] = []
    async with serve(_app([(503, {}, {})], seen)) as url:
        async with EchoClient(SECRET, base_url=url, retries=2, backoff_seconds=0.01) as client:
            with pytest.raises(ServiceUnavailable) as caught:
                await client.get_json("/thing")
    assert caught.value.reason == "server_error"
    assert len(seen) == 3 and client.requests == 3
    assert "after 3 attempt(s)" in str(caught.value)


async def test_retry_after_beyond_the_cap_fails_at_once_leaving_the_item_for_later() -> None:
    seen: list[float] = []
    async with serve(_app([(429, {}, {"Retry-After": "3600"})], seen)) as url:
        async with EchoClient(SECRET, base_url=url, retries=5) as client:
            with pytest.raises(ServiceUnavailable) as caught:
                await client.get_json("/thing")
    assert caught.value.reason == "rate_limited"
    assert len(seen) == 1


async def test_timeouts_and_refused_connections_are_unavailable() -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/thing", slow)
    async with serve(app) as url:
        async with EchoClient(
            SECRET, base_url=url, retries=1, timeout_seconds=0.2, backoff_seconds=0.01
        ) as c:
            with pytest.raises(ServiceUnavailable) as caught:
                await c.get_json("/thing")
    assert caught.value.reason == "timeout" and c.requests == 2
    async with EchoClient(SECRET, base_url="http://127.0.0.1:9", retries=0) as client:
        with pytest.raises(ServiceUnavailable) as refused:
            await client.get_json("/thing")
    assert refused.value.reason == "connection"
    assert "SIDECAR_TMDB_URL" in str(refused.value)


@pytest.mark.parametrize(
    ("status", "error", "retried"),
    [(401, ServiceAuthError, False), (403, ServiceAuthError, False), (404, ServiceNotFound, False),
     (400, ServiceRequestError, False)],
)  # fmt: skip
async def test_client_errors_are_typed_and_never_retried(status: int, error: type, retried: bool) -> None:
    seen: list[float] = []
    # A body that echoes the key, as some proxies and error pages do.
    body = {"status_message": f"bad request with key {SECRET}"}
    async with serve(_app([(status, body, {})], seen)) as url:
        async with TmdbClient(SECRET, base_url=url, retries=3) as client:
            with pytest.raises(error) as caught:
                await client.get_json("/thing")
    assert len(seen) == 1
    assert SECRET not in str(caught.value)
    if error is ServiceAuthError:
        assert "check SIDECAR_TMDB_API_KEY" in str(caught.value)


def test_not_configured_names_the_variable(settings: Settings) -> None:
    assert not TmdbClient.is_configured(settings)
    with pytest.raises(ServiceNotConfigured) as caught:
        TmdbClient.from_settings(settings)
    assert caught.value.setting == "SIDECAR_TMDB_API_KEY"
    assert "set SIDECAR_TMDB_API_KEY" in str(caught.value)
    configured = settings.model_copy(update={"tmdb_api_key": "x" * 10, "tmdb_requests_per_second": 7.0})
    client = TmdbClient.from_settings(configured)
    assert client.limiter.per_second == 7.0 and client.base_url == "https://api.themoviedb.org/3"


async def test_rate_limiter_spaces_requests_and_pause_holds_everyone() -> None:
    limiter = RateLimiter(50.0)  # a burst of a tenth of a second: 5
    start = time.monotonic()
    for _ in range(15):
        await limiter.acquire()
    assert time.monotonic() - start >= 10 / 50 * 0.9  # five at once, the next ten 20 ms apart
    limiter.pause(0.3)
    paused = time.monotonic()
    await limiter.acquire()
    assert time.monotonic() - paused >= 0.28


async def test_a_post_is_sent_once_unless_marked_idempotent() -> None:
    seen: list[float] = []
    answers = [(503, {}, {}), (201, {"id": 1}, {})]

    def app() -> web.Application:
        async def handler(request: web.Request) -> web.Response:
            seen.append(time.monotonic())
            assert await request.json() == {"mediaId": 603}
            status, body, _ = answers[min(len(seen), len(answers)) - 1]
            return web.json_response(body, status=status)

        application = web.Application()
        application.router.add_post("/thing", handler)
        return application

    async with (
        serve(app()) as url,
        EchoClient(SECRET, base_url=url, retries=3, backoff_seconds=0.01) as client,
    ):
        with pytest.raises(ServiceUnavailable):
            await client.post_json("/thing", {"mediaId": 603})
        assert len(seen) == 1
        assert await client.post_json("/thing", {"mediaId": 603}, idempotent=True) == {"id": 1}
    assert len(seen) == 2


async def test_send_posts_json_hands_back_passthrough_statuses_and_can_skip_retries() -> None:
    seen: list[Any] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append((request.method, await request.json(), request.headers.get("X-User")))
        status = int(request.query.get("status", "200"))
        return web.json_response({"n": len(seen)}, status=status, headers={"X-Page-Count": "3"})

    app = web.Application()
    app.router.add_route("*", "/thing", handler)
    async with serve(app) as url, EchoClient(SECRET, base_url=url, retries=2, backoff_seconds=0.01) as client:
        answer = await client.send("POST", "/thing", json={"a": 1}, headers={"X-User": "u"})
        assert (answer.status, answer.document, answer.headers["X-Page-Count"]) == (200, {"n": 1}, "3")
        pending = await client.send(
            "POST", "/thing", params={"status": 418}, json={}, passthrough=frozenset({418})
        )
        assert pending.status == 418  # an answer, not an error
        with pytest.raises(ServiceUnavailable):
            await client.send("POST", "/thing", params={"status": 502}, json={}, retries=0)
    assert seen[0] == ("POST", {"a": 1}, "u") and len(seen) == 3  # the 502 was not repeated
