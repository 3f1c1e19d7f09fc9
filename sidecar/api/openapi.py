"""GET /api/openapi.json: the API's own description, for dashboards and client generators."""

from __future__ import annotations

from aiohttp import web

from sidecar.api.openapi_doc import document


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(document())


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/api/openapi.json", openapi)
