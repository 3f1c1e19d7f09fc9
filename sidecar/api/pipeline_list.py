"""GET /api/pipelines: every pipeline this build runs (one per media kind), with its steps, so a
dashboard offers a button per kind without knowing the kinds; POST /api/pipelines/{kind} runs one."""

from __future__ import annotations

from aiohttp import web

from sidecar.api.keys import REGISTRY


async def list_pipelines(request: web.Request) -> web.Response:
    registry = request.app[REGISTRY]
    pipelines = []
    for kind in registry.pipelines:
        steps = registry.pipeline(kind) or ()
        pipelines.append(
            {
                "kind": kind,
                "path": f"/api/pipelines/{kind}",
                "steps": [
                    {"job": job, "title": d.title if (d := registry.get(job)) else job} for job in steps
                ],
            }
        )
    return web.json_response({"pipelines": pipelines})


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/api/pipelines", list_pipelines)
