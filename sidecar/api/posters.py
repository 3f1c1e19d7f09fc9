"""GET /api/items/{item_id}/poster: the media server's poster, fetched by the sidecar and cached.

The browser asks the sidecar (behind its API key) and never needs the server's address or key.
Posters stay in a bounded in-memory cache; the server is asked once per item until evicted.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from sidecar.api.errors import ApiError
from sidecar.api.keys import POSTER_CACHE, SETTINGS
from sidecar.api.poster_cache import Poster, PosterCache
from sidecar.mediaserver.base import MediaServerError
from sidecar.mediaserver.emby import BASE_PATH as EMBY_BASE_PATH
from sidecar.mediaserver.factory import _server_root, detect_kind
from sidecar.mediaserver.http import emby_auth_headers, jellyfin_auth_headers

CACHE_BYTES = 32 * 1024 * 1024
POSTER_WIDTH = 240  # twice the page's thumbnail width, for sharp posters on high-density screens
FETCH_TIMEOUT = aiohttp.ClientTimeout(total=10)
ITEM_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")  # Jellyfin GUIDs, Emby numbers: nothing that changes the path
BROWSER_CACHE = {"Cache-Control": "private, max-age=86400"}
SESSION = web.AppKey("poster_session", aiohttp.ClientSession)


async def _fetch(app: web.Application, item_id: str) -> Poster | None:
    settings = app[SETTINGS]
    if not settings.media_server_url or settings.media_server_api_key is None:
        raise ApiError(503, "no_media_server", "no media server configured; set SIDECAR_MEDIA_SERVER_URL")
    key = settings.media_server_api_key.get_secret_value()
    session = app[SESSION]
    kind = settings.media_server_kind
    if kind == "auto":
        kind = await detect_kind(settings, session)
    base = _server_root(settings.media_server_url) + (EMBY_BASE_PATH if kind == "emby" else "")
    headers = emby_auth_headers(key) if kind == "emby" else jellyfin_auth_headers(key)
    url = f"{base}/Items/{item_id}/Images/Primary"
    params = {"maxWidth": str(POSTER_WIDTH), "quality": "85"}
    async with session.get(url, params=params, headers=headers, timeout=FETCH_TIMEOUT) as response:
        if response.status == 404:
            return None
        content_type = response.content_type
        if response.status != 200 or not content_type.startswith("image/"):
            raise MediaServerError(f"the media server answered HTTP {response.status} ({content_type})")
        return Poster(await response.read(), content_type)


async def poster(request: web.Request) -> web.Response:
    item_id = request.match_info["item_id"]
    if not ITEM_ID.match(item_id):
        raise ApiError(400, "invalid_item_id", "an item id is the media server's id of a movie or series")
    cache = request.app[POSTER_CACHE]
    found = cache.get(item_id)
    if found is None:
        try:
            found = await _fetch(request.app, item_id)
        except (MediaServerError, aiohttp.ClientError, TimeoutError):
            raise ApiError(
                503,
                "media_server_unavailable",
                "the media server did not send the poster; check that it runs",
            ) from None
        if found is None:
            raise ApiError(404, "no_poster", "the media server has no poster for this item")
        cache.put(item_id, found)
    return web.Response(body=found.body, content_type=found.content_type, headers=BROWSER_CACHE)


def setup_routes(app: web.Application) -> None:
    async def session(app: web.Application) -> AsyncIterator[None]:
        app[SESSION] = aiohttp.ClientSession()
        yield
        await app[SESSION].close()

    app[POSTER_CACHE] = PosterCache(CACHE_BYTES)
    app.cleanup_ctx.append(session)
    app.router.add_get("/api/items/{item_id}/poster", poster)
