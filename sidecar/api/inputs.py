"""Request input checked once, before any handler: path and query text, and the JSON body of /api/*.

Handlers then only see text PostgreSQL can store and bodies that parsed within bounds (see
sidecar/untrusted.py); each refusal is a 4xx in the API's error shape and names no offending bytes.
Webhook bodies are not read here: each server has its own transport (webhooks/bodies.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sidecar.api.errors import ApiError
from sidecar.untrusted import UntrustedInputError, has_unclean_text, is_clean, parse_json

JSON_BODY = web.RequestKey("json_body", object)  # the parsed body (None: empty); set once read
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON_MIME = "application/json"
API_PREFIX = "/api/"
CORS_SIMPLE_TYPES = frozenset({"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"})


def _check_path_and_query(request: web.Request) -> None:
    if not is_clean(request.path):
        raise ApiError(400, "invalid_path", "the path contains a NUL character or invalid UTF-8")
    for key, value in request.query.items():
        if not (is_clean(key) and is_clean(value)):
            raise ApiError(
                400, "invalid_parameter", f"query parameter {key!r} contains a NUL character or invalid UTF-8"
            )


def needs_json_body(request: web.Request) -> bool:
    return request.method in STATE_CHANGING and request.path.startswith(API_PREFIX)


async def _json_body(request: web.Request) -> Any | None:
    """The parsed body (None when empty); 415 for a body not declared as JSON."""
    raw = await request.read()
    # A browser on another site can send these three types without a preflight, JSON it cannot:
    # so a body must be declared JSON, and an empty one must not come as a form.
    if (raw.strip() and request.content_type != JSON_MIME) or request.content_type in CORS_SIMPLE_TYPES:
        raise ApiError(
            415, "unsupported_media_type", "send the body as JSON with 'Content-Type: application/json'"
        )
    if not raw.strip():
        return None
    try:
        data = parse_json(raw)
    except UntrustedInputError as exc:
        raise ApiError(400, "malformed_json", f"the body is not usable JSON: {exc}") from None
    if has_unclean_text(data):
        raise ApiError(
            400, "invalid_text", "a text field of the body contains a NUL character or invalid UTF-8"
        )
    return data


async def request_json(request: web.Request) -> Any | None:
    """The request's JSON body, parsed and checked once (None when empty); handlers call this, so
    they are safe in an app without the middleware too."""
    if JSON_BODY not in request:
        request[JSON_BODY] = await _json_body(request)
    return request[JSON_BODY]


@web.middleware
async def input_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    _check_path_and_query(request)
    if needs_json_body(request):
        await request_json(request)
    return await handler(request)
