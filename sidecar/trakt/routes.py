"""The Trakt link API of a user (the page's user view drives it):

GET    /api/users/{id}/trakt       state: unlinked | pending (user_code, verification_url) | linked | expired | denied | invalid
POST   /api/users/{id}/trakt/link  start the device flow: a code to enter at the verification URL (201)
POST   /api/users/{id}/trakt/poll  ask Trakt whether the code was entered (at most every `interval` s)
DELETE /api/users/{id}/trakt       unlink: tokens, pending code and imported rows deleted

Behind the API key like every /api route (and the cross-origin guard for state changes). Answers
never carry a token or a device code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sidecar.api.errors import ApiError
from sidecar.api.keys import DB, SETTINGS
from sidecar.services.http import ServiceAuthError, ServiceError, ServiceNotConfigured, ServiceUnavailable
from sidecar.system.routes import user_id_from
from sidecar.trakt import link
from sidecar.trakt import queries as q


async def _known_user(request: web.Request) -> str:
    user_id = user_id_from(request)
    if await request.app[DB].fetchval(q.USER_EXISTS, user_id) is None:
        raise ApiError(
            404, "unknown_user", f"no media server user with id {user_id!r}; GET /api/users lists them"
        )
    return user_id


async def _calling_trakt(action: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """The outside service's failures as the API's errors (their texts never hold a secret)."""
    try:
        return await action()
    except ServiceNotConfigured as exc:
        raise ApiError(409, "not_configured", f"{exc}; then restart the sidecar") from None
    except ServiceAuthError as exc:
        raise ApiError(502, "trakt_refused", str(exc)) from None
    except ServiceUnavailable as exc:
        raise ApiError(503, "trakt_unavailable", str(exc)) from None
    except ServiceError as exc:
        raise ApiError(502, "trakt_error", str(exc)) from None


async def get_trakt(request: web.Request) -> web.Response:
    user_id = await _known_user(request)
    return web.json_response(await link.status(request.app[DB], request.app[SETTINGS], user_id))


async def start_link(request: web.Request) -> web.Response:
    user_id = await _known_user(request)
    body = await _calling_trakt(lambda: link.start(request.app[DB], request.app[SETTINGS], user_id))
    return web.json_response(body, status=201)


async def poll_link(request: web.Request) -> web.Response:
    user_id = await _known_user(request)
    body = await _calling_trakt(lambda: link.poll(request.app[DB], request.app[SETTINGS], user_id))
    return web.json_response(body)


async def unlink(request: web.Request) -> web.Response:
    user_id = await _known_user(request)
    return web.json_response(await link.unlink(request.app[DB], request.app[SETTINGS], user_id))


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/api/users/{user_id}/trakt", get_trakt)
    app.router.add_post("/api/users/{user_id}/trakt/link", start_link)
    app.router.add_post("/api/users/{user_id}/trakt/poll", poll_link)
    app.router.add_delete("/api/users/{user_id}/trakt", unlink)
