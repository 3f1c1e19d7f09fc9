"""A small real world for page and API tests: the simulator and the OpenAI simulator, and the movie
pipeline run once on them (inline), so users, picks, libraries and run results all exist."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sidecar.settings import Settings
from sidecar.simulator import RunningSimulator, running_simulator
from sidecar.simulator.openai_server import OpenAIEmbeddingsSimulator, serve
from tests.simhelpers import settings_for

SEED_MOVIES = 60
PICKS_PER_USER = 8
PIPELINE = [
    "sync-movies",
    "sync-movie-watch-history",
    "generate-movie-embeddings",
    "generate-movie-recommendations",
    "sync-movie-libraries",
]


@dataclass
class World:
    sim: RunningSimulator
    settings: Settings
    results: dict[str, dict[str, Any]]  # job -> the result of its run


@contextlib.asynccontextmanager
async def movie_world(
    settings: Settings, run_job: Callable[..., Awaitable[Any]], tmp_path: Path, kind: str = "jellyfin"
) -> AsyncIterator[World]:
    media = tmp_path / "media"
    async with (
        running_simulator(kind, seed=SEED_MOVIES) as sim,  # type: ignore[arg-type]
        serve(OpenAIEmbeddingsSimulator()) as openai_url,
    ):
        for movie in sim.state.movies.values():
            assert movie.path is not None
            local = media / Path(movie.path).relative_to("/media")
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(b"video")
        world_settings = settings_for(
            settings,
            sim,
            media_server_page_size=100,
            library_root=tmp_path / "libraries",
            path_mappings={"/media": str(media)},
            openai_base_url=openai_url,
            embedding_dimensions=64,
            recommendations_per_user=PICKS_PER_USER,
        )
        results = {}
        for job in PIPELINE:
            row = await run_job(job, settings=world_settings)
            assert row["status"] == "completed", (job, row["error"])
            results[job] = row["result"]
        yield World(sim, world_settings, results)
