"""Web and worker in this process, as one async context: used by `sidecar up/web/worker` and the demo."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import structlog
from aiohttp import web as aioweb

from sidecar.jobs.registry import JobRegistry
from sidecar.settings import Settings

log = structlog.get_logger(__name__)

_ANY_ADDRESS = ("0.0.0.0", "::", "")


@dataclass
class RunningService:
    """What is serving. `stopped` is set when the worker ends on its own (the caller should stop too)."""

    web_url: str | None  # a URL that reaches the web process from this machine
    stopped: asyncio.Event = field(default_factory=asyncio.Event)


def local_url(host: str, port: int) -> str:
    """The URL to reach a server bound to (host, port) from this machine."""
    reachable = "127.0.0.1" if host in _ANY_ADDRESS else host
    if ":" in reachable:
        reachable = f"[{reachable}]"
    return f"http://{reachable}:{port}"


@contextlib.asynccontextmanager
async def serving(
    settings: Settings,
    database_url: str,
    redis_url: str,
    *,
    web: bool = True,
    worker: bool = True,
    registry: JobRegistry | None = None,
    port: int | None = None,
) -> AsyncIterator[RunningService]:
    """Migrate, start the web app (on settings.host and `port` or settings.port; 0 = any free port)
    and/or the worker.

    Leaving the block stops the worker first (a running job is interrupted and recorded as such),
    then the web app.
    """
    from sidecar import composition
    from sidecar.api.guard import is_loopback_address
    from sidecar.api.protocol import JsonErrorAppRunner
    from sidecar.db import migrate

    await migrate(database_url)
    registry = registry or composition.build_registry()
    service = RunningService(web_url=None)
    runner: aioweb.AppRunner | None = None
    worker_task: asyncio.Task[None] | None = None
    arq_worker = None
    try:
        if web:
            app = composition.web_app(
                settings, database_url=database_url, redis_url=redis_url, registry=registry
            )
            runner = JsonErrorAppRunner(app, access_log=None, handle_signals=False)
            await runner.setup()
            await aioweb.TCPSite(runner, settings.host, settings.port if port is None else port).start()
            bound_port = runner.addresses[0][1]
            service.web_url = local_url(settings.host, bound_port)
            log.info("web listening", url=f"http://{settings.host}:{bound_port}/")
            if settings.api_key is None and not is_loopback_address(settings.host):
                log.warning(
                    "listening beyond this machine without SIDECAR_API_KEY: anyone who can reach the "
                    "port can start and cancel jobs; set SIDECAR_API_KEY (only Host names in "
                    "SIDECAR_ALLOWED_HOSTS are answered meanwhile)",
                    host=settings.host,
                )
        if worker:
            arq_worker = composition.worker(
                settings,
                database_url=database_url,
                redis_url=redis_url,
                registry=registry,
                handle_signals=False,
            )
            worker_task = asyncio.create_task(arq_worker.async_run())
            worker_task.add_done_callback(lambda _: service.stopped.set())
        yield service
    finally:
        log.info("stopping")
        if arq_worker is not None and worker_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await arq_worker.close()
            worker_task.cancel()
            with contextlib.suppress(BaseException):
                await worker_task
        if runner is not None:
            await runner.cleanup()
