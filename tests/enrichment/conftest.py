"""A world for enrich-metadata: a simulated media server's items stored as the sync jobs store them
(real PostgreSQL), the simulated TMDb and OMDb built from that server and served over HTTP, and
settings pointing at them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from pydantic import SecretStr

from sidecar.series import SERIES
from sidecar.settings import Settings
from sidecar.simulator.model import SimState
from sidecar.simulator.services import serve
from sidecar.simulator.services.omdb import OmdbSimulator
from sidecar.simulator.services.tmdb import TmdbSimulator
from sidecar.simulator.services.tmdb_catalogue import build_catalogue
from tests.factory import add_item
from tests.service_world import server

TMDB_TOKEN = "tmdb-token-Zq8xVw3Lk2"  # distinctive, so a leak is found by a plain text search
OMDB_KEY = "omdbKEY4471xyz"


def _ids(provider_ids: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in provider_ids.items()}


async def store_server(db: asyncpg.Pool, state: SimState) -> None:
    """The server's items as sync-movies and sync-series store them (the columns enrichment reads)."""
    for movie in state.movies.values():
        ids = _ids(movie.provider_ids)
        people = [{"name": p["Name"], "type": p["Type"], "role": p.get("Role")} for p in movie.people]
        await add_item(db, movie.id, title=movie.name, year=movie.year, genres=movie.genres,
                       people=people, tags=movie.tags, tmdb_id=ids.get("tmdb"),
                       imdb_id=ids.get("imdb"), provider_ids=ids, content_hash=f"h-{movie.id}")  # fmt: skip
    for series in state.tv.series.values():
        ids = _ids(series.provider_ids)
        await add_item(db, series.id, kind=SERIES, title=series.name, genres=series.genres,
                       tmdb_id=ids.get("tmdb"), imdb_id=ids.get("imdb"), tvdb_id=ids.get("tvdb"),
                       provider_ids=ids, content_hash=f"h-{series.id}", sync_hash="s")  # fmt: skip


@dataclass
class World:
    state: SimState
    tmdb: TmdbSimulator
    omdb: OmdbSimulator
    settings: Settings  # TMDb configured, OMDb not
    omdb_url: str

    @property
    def items(self) -> int:
        return len(self.state.movies) + len(self.state.tv.series)

    def with_omdb(self, **changes: Any) -> Settings:
        return self.settings.model_copy(
            update={"omdb_api_key": SecretStr(OMDB_KEY), "omdb_url": self.omdb_url, **changes}
        )


@pytest.fixture
async def world(db: asyncpg.Pool, settings: Settings) -> AsyncIterator[World]:
    state = server()
    catalogue = build_catalogue(state, min_extra=50)
    tmdb = TmdbSimulator(catalogue, api_key=TMDB_TOKEN)
    omdb = OmdbSimulator(catalogue, api_key=OMDB_KEY)
    await store_server(db, state)
    async with serve(tmdb.create_app()) as tmdb_url, serve(omdb.create_app()) as omdb_url:
        configured = settings.model_copy(
            update={
                "tmdb_api_key": SecretStr(TMDB_TOKEN),
                "tmdb_url": tmdb_url,
                "service_timeout_seconds": 2.0,
                "service_retries": 1,
            }
        )
        yield World(state, tmdb, omdb, configured, omdb_url)
