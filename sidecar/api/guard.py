"""Strangers: DNS rebinding and cross-site requests, refused before authentication.

Without an API key anything that can reach the port drives the API, so the web app then answers
only to loopback names and `SIDECAR_ALLOWED_HOSTS` (a rebound DNS name carries its own Host).
A browser on another site can still POST without a preflight, so state changes are refused when
their `Origin` is not this service's own, key or not. Webhook routes are exempt: the media servers
send neither, and the webhook token already protects them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import hdrs, web

from sidecar.api.errors import error_response
from sidecar.api.inputs import STATE_CHANGING
from sidecar.api.keys import SETTINGS
from sidecar.settings import Settings

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WEBHOOK_PREFIX = "/webhooks/"


def host_name(authority: str) -> str:
    """`Host`/Origin authority without port or IPv6 brackets, lower case."""
    parsed = urlsplit(f"//{authority}")
    try:
        return (parsed.hostname or "").lower()
    except ValueError:
        return ""


def is_loopback_address(address: str) -> bool:
    """Whether listening on `address` keeps the service on this machine."""
    return address in LOOPBACK_NAMES or address.startswith("127.")


def _host_allowed(request: web.Request, settings: Settings) -> bool:
    name = host_name(request.host)
    return name in LOOPBACK_NAMES or name in settings.allowed_hosts


def _origin_allowed(request: web.Request, settings: Settings) -> bool:
    origin = request.headers.get(hdrs.ORIGIN)
    if origin is None:
        return True  # not a browser (curl, the CLI, scripts): nothing cross-site about it
    authority = urlsplit(origin).netloc.lower()
    if not authority:
        return False  # "null": sandboxed frames, file:// pages, privacy redirects
    return authority == request.host.lower() or host_name(authority) in settings.allowed_hosts


@web.middleware
async def stranger_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if request.path.startswith(WEBHOOK_PREFIX):
        return await handler(request)
    settings = request.app[SETTINGS]
    if settings.api_key is None and not _host_allowed(request, settings):
        return error_response(
            403,
            "host_not_allowed",
            "without SIDECAR_API_KEY this sidecar answers only to localhost and the names in "
            "SIDECAR_ALLOWED_HOSTS; add the name you use there, or set SIDECAR_API_KEY",
        )
    if request.method in STATE_CHANGING and not _origin_allowed(request, settings):
        return error_response(
            403,
            "cross_origin",
            "state changes are accepted only from this sidecar's own page (the Origin does not match)",
        )
    return await handler(request)
