"""API key check for /api/* (except health) and /metrics, compared in constant time."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from sidecar.api.errors import error_response
from sidecar.api.keys import SETTINGS

OPEN_PATHS = frozenset({"/api/health"})
# Outside /api/ but still the job system's data: Prometheus sends the key as a bearer token.
KEYED_PATHS = frozenset({"/metrics"})


def secret_matches(offered: str, expected: str) -> bool:
    """Constant-time comparison that takes any header text: aiohttp hands non-UTF-8 header bytes
    over as surrogates, which a plain `.encode()` refuses (that was a 500 instead of a 401)."""
    return hmac.compare_digest(
        offered.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def presented_key(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("X-Api-Key")


@web.middleware
async def api_key_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    expected = request.app[SETTINGS].api_key
    keyed = request.path.startswith("/api/") or request.path in KEYED_PATHS
    if expected is None or not keyed or request.path in OPEN_PATHS:
        return await handler(request)
    given = presented_key(request)
    if given is None:
        return error_response(
            401, "unauthorized", "this API needs a key: send 'Authorization: Bearer <SIDECAR_API_KEY>'"
        )
    if not secret_matches(given, expected.get_secret_value()):
        return error_response(401, "unauthorized", "the API key is not valid")
    return await handler(request)
