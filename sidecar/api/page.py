"""The Jobs page: one static page (no build step) that drives the JSON job API from the browser."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
INDEX_HTML = STATIC_DIR / "index.html"

# The page is small and changes with each release: always revalidate rather than serve a stale copy.
NO_CACHE = {"Cache-Control": "no-cache"}


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(INDEX_HTML, headers=NO_CACHE)


def setup_routes(app: web.Application) -> None:
    """GET / serves the page, /static/... its CSS and script; neither needs the API key (no data)."""
    app.router.add_get("/", index)
    app.router.add_static("/static/", STATIC_DIR, name="static", append_version=False)
