"""`sidecar demo --with-services`: the outside services (TMDb, OMDb, Trakt, ...) as local simulators built
from the demo's simulated media server, and the settings that point the sidecar at them. The plain
demo starts none of them and stays offline.

Adding a simulator is one line in `SERVICES`: a function that takes the shared `ServiceWorld` and
returns the service's name, its aiohttp app and the settings for the URL it is served at.
"""

from __future__ import annotations

import contextlib
import functools
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import SecretStr

from sidecar.simulator.model import SimState
from sidecar.simulator.services import serve
from sidecar.simulator.services.omdb import OmdbSimulator
from sidecar.simulator.services.seerr import SeerrSimulator
from sidecar.simulator.services.tmdb import TmdbSimulator
from sidecar.simulator.services.tmdb_catalogue import TmdbCatalogue, build_catalogue
from sidecar.simulator.services.trakt import TraktState, seed_user

# The local simulators answer as fast as they can: the demo does not wait on TMDb's 50 requests/s.
DEMO_REQUESTS_PER_SECOND = 1000.0


@dataclass
class ServiceWorld:
    """What the simulators share: the media server they describe, and TMDb's view of it."""

    state: SimState

    @functools.cached_property
    def catalogue(self) -> TmdbCatalogue:
        return build_catalogue(self.state)


@dataclass(frozen=True)
class DemoService:
    name: str
    app: web.Application
    settings: Callable[[str], dict[str, Any]]  # the URL it is served at -> Settings fields


def tmdb(world: ServiceWorld) -> DemoService:
    sim = TmdbSimulator(world.catalogue, rate_limit_per_second=None)
    return DemoService("TMDb", sim.create_app(), lambda url: {
        "tmdb_api_key": SecretStr(sim.api_key), "tmdb_url": url, "tmdb_requests_per_second": DEMO_REQUESTS_PER_SECOND,
    })  # fmt: skip


def omdb(world: ServiceWorld) -> DemoService:
    sim = OmdbSimulator(world.catalogue, daily_limit=100_000)
    return DemoService("OMDb", sim.create_app(), lambda url: {
        "omdb_api_key": SecretStr(sim.api_key), "omdb_url": url, "omdb_requests_per_second": DEMO_REQUESTS_PER_SECOND,
        "omdb_daily_limit": sim.daily_limit,
    })  # fmt: skip


def trakt(world: ServiceWorld) -> DemoService:
    """Three Trakt accounts with histories of the demo's titles (and some it lacks); a code shown by
    the page's "Link Trakt account" is granted at once, for the next of them (no trakt.tv here)."""
    state = TraktState()
    for n in range(3):
        seed_user(state, f"demo-trakt-{n + 1}", world.state, plays=300, ratings=30, seed=n)
    state.auto_approve = sorted(state.users)
    return DemoService("Trakt", state.create_app(), lambda url: {
        "trakt_client_id": SecretStr(state.client_id), "trakt_client_secret": SecretStr(state.client_secret),
        "trakt_url": url, "secret_key": SecretStr(secrets.token_hex(32)),
    })  # fmt: skip


def seerr(world: ServiceWorld) -> DemoService:
    sim = SeerrSimulator()
    return DemoService(
        "Jellyseerr",
        sim.create_app(),
        lambda url: {"seerr_url": url, "seerr_api_key": SecretStr(sim.api_key)},
    )


# One line per simulated service.
SERVICES: tuple[Callable[[ServiceWorld], DemoService], ...] = (tmdb, omdb, trakt, seerr)


@dataclass
class RunningServices:
    urls: dict[str, str] = field(default_factory=dict)  # name -> URL
    settings: dict[str, Any] = field(default_factory=dict)  # Settings fields for all of them


@contextlib.asynccontextmanager
async def running_services(state: SimState) -> AsyncIterator[RunningServices]:
    """Every simulator in SERVICES, served until the block ends."""
    world = ServiceWorld(state)
    running = RunningServices()
    async with contextlib.AsyncExitStack() as stack:
        for make in SERVICES:
            service = make(world)
            url = await stack.enter_async_context(serve(service.app))
            running.urls[service.name] = url
            running.settings.update(service.settings(url))
        yield running
