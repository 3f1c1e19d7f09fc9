"""A real world for the discovery job: the movie pipeline run on the media-server simulator (synthetic
movies, three viewers), the simulated TMDb built from that server (its titles plus titles the server
lacks), and the simulated Jellyseerr; settings pointing at all of them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from pydantic import SecretStr

from sidecar.settings import Settings
from sidecar.simulator.services import serve
from sidecar.simulator.services.seerr import SeerrSimulator
from sidecar.simulator.services.tmdb import TmdbSimulator
from sidecar.simulator.services.tmdb_catalogue import build_catalogue
from tests.movie_world import World, movie_world

JOB = "generate-discovery-suggestions"
SUGGESTIONS = 6


@dataclass
class DiscoveryWorld:
    world: World
    tmdb: TmdbSimulator
    tmdb_url: str
    seerr: SeerrSimulator
    seerr_url: str
    settings: Settings  # TMDb configured, Seerr not

    def with_seerr(self) -> Settings:
        return self.settings.model_copy(
            update={"seerr_url": self.seerr_url, "seerr_api_key": SecretStr(self.seerr.api_key)}
        )


@contextlib.asynccontextmanager
async def discovery_world(
    settings: Settings, run_job: Callable[..., Awaitable[Any]], tmp_path: Path
) -> AsyncIterator[DiscoveryWorld]:
    async with movie_world(settings, run_job, tmp_path) as world:
        tmdb = TmdbSimulator(build_catalogue(world.sim.state), rate_limit_per_second=None)
        seerr = SeerrSimulator()
        async with serve(tmdb.create_app()) as tmdb_url, serve(seerr.create_app()) as seerr_url:
            configured = world.settings.model_copy(
                update={
                    "tmdb_api_key": SecretStr(tmdb.api_key),
                    "tmdb_url": tmdb_url,
                    "discovery_suggestions": SUGGESTIONS,
                    "service_retries": 1,
                }
            )
            yield DiscoveryWorld(world, tmdb, tmdb_url, seerr, seerr_url, configured)


@pytest.fixture
async def dworld(
    settings: Settings, run_job: Any, tmp_path: Path, db: asyncpg.Pool
) -> AsyncIterator[DiscoveryWorld]:
    async with discovery_world(settings, run_job, tmp_path) as w:
        yield w
