"""Simulators of the outside services (TMDb, OMDb, Trakt, Jellyseerr...).

Each module is an aiohttp app factory plus inspectable state (requests seen, faults to inject) that
speaks the service's real wire format. `serve` runs any of them on a free localhost port, for tests,
benchmarks and `sidecar demo --with-services`.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator

from aiohttp import web


@contextlib.asynccontextmanager
async def serve(app: web.Application, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """`async with serve(sim.create_app()) as url:` the app answers at `url` until the block ends."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    await web.SockSite(runner, sock).start()
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        await runner.cleanup()
