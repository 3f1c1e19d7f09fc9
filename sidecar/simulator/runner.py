"""Run a simulator on a free localhost port (tests, benchmarks, the demo)."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web

from sidecar.simulator.app import MediaServerSimulator, RecordedRequest
from sidecar.simulator.faults import Faults
from sidecar.simulator.model import Kind, SimState
from sidecar.simulator.webhook_bodies import Style
from sidecar.simulator.webhook_sender import WebhookSender


@dataclass
class RunningSimulator:
    sim: MediaServerSimulator
    url: str
    senders: list[WebhookSender] = field(default_factory=list)

    @property
    def api_key(self) -> str:
        return self.sim.api_key

    @property
    def state(self) -> SimState:
        return self.sim.state

    @property
    def faults(self) -> Faults:
        return self.sim.faults

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.sim.requests

    @property
    def kind(self) -> Kind:
        return self.sim.kind

    def requests_to(self, route: str, method: str | None = None) -> list[RecordedRequest]:
        return self.sim.requests_to(route, method)

    def send_webhooks_to(self, url: str, token: str | None, *, style: Style | None = None) -> WebhookSender:
        """From now on every event of this server is POSTed to `url` (closed with the simulator)."""
        sender = WebhookSender(self.state, url, token, style=style).attach()
        self.senders.append(sender)
        return sender


@contextlib.asynccontextmanager
async def running_simulator(
    kind: Kind = "jellyfin",
    seed: str | int | None = "sample",
    *,
    api_key: str | None = None,
    simulator: MediaServerSimulator | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    tv: str | None = None,
) -> AsyncIterator[RunningSimulator]:
    """`async with running_simulator("emby", seed="movielens") as sim:` -> sim.url, sim.api_key, sim.state.
    `tv="sample"` or `"full"` adds a TV library (`tv_seed`)."""
    sim = simulator or MediaServerSimulator(kind, seed=seed, api_key=api_key, tv=tv)
    runner = web.AppRunner(sim.make_app(), access_log=None, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    site = web.SockSite(runner, sock)
    await site.start()
    bound_port = sock.getsockname()[1]
    url = f"http://{host}:{bound_port}"
    sim.local_address = url
    running = RunningSimulator(sim, url)
    try:
        yield running
    finally:
        for sender in running.senders:
            await sender.close()
        await runner.cleanup()
