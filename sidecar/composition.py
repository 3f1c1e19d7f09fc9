"""The composition root: the one place that knows every media kind, the global jobs, the web app
and the worker, and wires them together. Everything else receives what it needs from here.

A new media kind is its package plus one line in `MEDIA_KINDS`; a global job is one entry in
`GLOBAL_JOBS` (sidecar/README.md has the checklist).
"""

from __future__ import annotations

from aiohttp import web
from arq.worker import Worker

from sidecar.api.app import create_app
from sidecar.discovery import routes as discovery_routes
from sidecar.discovery.definition import discovery_jobs
from sidecar.enrichment import enrichment_jobs
from sidecar.jobs.registry import FinishHook, JobDefinition, JobRegistry
from sidecar.media.graph import job_graph
from sidecar.media.kind import MediaKind
from sidecar.movies import MOVIES
from sidecar.series import SERIES
from sidecar.settings import Settings
from sidecar.system import routes as system_routes
from sidecar.system.jobs import global_jobs
from sidecar.system.notify import notify_finished_run
from sidecar.trakt import routes as trakt_routes
from sidecar.trakt.job import trakt_job
from webhooks import routes as webhook_routes
from worker.main import build_worker

# The media kinds this build serves, in dashboard order.
MEDIA_KINDS: tuple[MediaKind, ...] = (MOVIES, SERIES)

# Jobs that belong to no media kind (sync-users, backups, housekeeping...): their definitions here.
GLOBAL_JOBS: tuple[JobDefinition, ...] = (
    *global_jobs(MEDIA_KINDS),
    *enrichment_jobs(MEDIA_KINDS),
    trakt_job(MEDIA_KINDS),
    *discovery_jobs(MEDIA_KINDS),
)

# Told about every run that ended: notifications of failed (and long) runs.
FINISH_HOOKS: tuple[FinishHook, ...] = (notify_finished_run,)


def build_registry() -> JobRegistry:
    """Every job of this build: each kind's graph, then the global jobs."""
    registry = JobRegistry()
    for kind in MEDIA_KINDS:
        registry.register_graph(job_graph(kind))
    for definition in GLOBAL_JOBS:
        registry.register(definition)
    for hook in FINISH_HOOKS:
        registry.on_run_finished(hook)
    return registry


def web_app(
    settings: Settings, *, database_url: str, redis_url: str, registry: JobRegistry | None = None
) -> web.Application:
    """The API, the Jobs page and the webhook receivers, for every kind."""
    app = create_app(
        settings,
        database_url=database_url,
        redis_url=redis_url,
        registry=registry or build_registry(),
        kinds=MEDIA_KINDS,
    )
    webhook_routes.setup_routes(app, MEDIA_KINDS)
    system_routes.setup_routes(app, MEDIA_KINDS)
    trakt_routes.setup_routes(app)
    discovery_routes.setup_routes(app, MEDIA_KINDS)
    return app


def worker(
    settings: Settings,
    *,
    database_url: str,
    redis_url: str,
    registry: JobRegistry | None = None,
    handle_signals: bool = True,
) -> Worker:
    """The ARQ worker running every registered job."""
    return build_worker(
        settings,
        database_url=database_url,
        redis_url=redis_url,
        registry=registry or build_registry(),
        kinds=MEDIA_KINDS,
        handle_signals=handle_signals,
    )
