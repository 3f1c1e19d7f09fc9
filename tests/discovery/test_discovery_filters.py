"""What a suggestion must never be: a title the server has (matched by TMDb, IMDb or TVDB id, the
last two through TMDb's /find), or, for a user with a parental limit, a title rated above what the
server shows them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
from pydantic import SecretStr

from sidecar.settings import Settings
from sidecar.simulator import running_simulator
from sidecar.simulator.openai_server import OpenAIEmbeddingsSimulator
from sidecar.simulator.openai_server import serve as serve_openai
from sidecar.simulator.services import serve
from sidecar.simulator.services.tmdb import TmdbSimulator
from sidecar.simulator.services.tmdb_catalogue import build_catalogue
from tests.discovery.conftest import JOB, SUGGESTIONS, DiscoveryWorld
from tests.simhelpers import settings_for


async def _completed(run_job: Any, job: str, settings: Settings) -> dict[str, Any]:
    row = await run_job(job, settings=settings)
    assert row["status"] == "completed", (job, row["error"])
    return dict(row["result"])


async def _suggested(db: asyncpg.Pool, kind: str) -> set[int]:
    return {
        r["tmdb_id"]
        for r in await db.fetch("SELECT tmdb_id FROM discovery_suggestions WHERE kind = $1", kind)
    }


async def test_movies_the_server_has_are_left_out_by_tmdb_and_by_imdb_id(
    dworld: DiscoveryWorld, run_job: Any, db: asyncpg.Pool
) -> None:
    await _completed(run_job, JOB, dworld.settings)
    by_tmdb, by_imdb = sorted(await _suggested(db, "movies"))[:2]
    imdb = dworld.tmdb.catalogue.get("movie", by_imdb)
    assert imdb is not None and imdb.imdb_id
    state = dworld.world.sim.state
    library = state.libraries[0].item_id
    # The server gets both titles: one matched on TMDb, one it knows only by its IMDb id.
    state.add_movie(
        emit=False, library_id=library, name="Now Here", year=2020, provider_ids={"Tmdb": str(by_tmdb)}
    )
    state.add_movie(
        emit=False, library_id=library, name="Imdb Only", year=2021, provider_ids={"Imdb": imdb.imdb_id}
    )
    await _completed(run_job, "sync-movies", dworld.settings)
    result = await _completed(run_job, JOB, dworld.settings)
    assert result["lookups"] == 1  # the IMDb-only item resolved through /find, once
    assert dworld.tmdb.requests["/find/{external_id}"] == 1
    suggested = await _suggested(db, "movies")
    assert by_tmdb not in suggested and by_imdb not in suggested
    assert len(await db.fetch("SELECT 1 FROM discovery_suggestions")) == 3 * SUGGESTIONS
    await _completed(run_job, JOB, dworld.settings)
    assert dworld.tmdb.requests["/find/{external_id}"] == 1  # resolved ids are kept


@contextlib.asynccontextmanager
async def _tv_world(
    settings: Settings, run_job: Any, tmp_path: Path
) -> AsyncIterator[tuple[Any, Settings, TmdbSimulator]]:
    async with (
        running_simulator("jellyfin", "sample", tv="sample") as sim,
        serve_openai(OpenAIEmbeddingsSimulator()) as openai_url,
    ):
        tmdb = TmdbSimulator(build_catalogue(sim.state), rate_limit_per_second=None)
        async with serve(tmdb.create_app()) as tmdb_url:
            world = settings_for(
                settings, sim, openai_base_url=openai_url, embedding_dimensions=64,
                tmdb_api_key=SecretStr(tmdb.api_key), tmdb_url=tmdb_url, discovery_suggestions=3,
            )  # fmt: skip
            for job in ("sync-series", "sync-series-watch-history", "generate-series-embeddings"):
                await _completed(run_job, job, world)
            yield sim, world, tmdb


async def test_series_the_server_has_are_left_out_by_tvdb_id(
    settings: Settings, run_job: Any, tmp_path: Path, db: asyncpg.Pool
) -> None:
    async with _tv_world(settings, run_job, tmp_path) as (sim, world, tmdb):
        first = await _completed(run_job, JOB, world)
        assert first["users_processed"] >= 2
        suggested = await _suggested(db, "series")
        assert suggested and not await _suggested(db, "movies")  # no movie embeddings: movies skipped
        show = tmdb.catalogue.get("tv", min(suggested))
        assert show is not None and show.tvdb_id and not show.on_server
        shows = next(lib.item_id for lib in sim.state.libraries if lib.collection_type == "tvshows")
        sim.state.tv.add_series(emit=False, name="Tvdb Only", library_id=shows, path="/media/shows/Tvdb Only",
                                provider_ids={"Tvdb": str(show.tvdb_id)})  # fmt: skip
        await _completed(run_job, "sync-series", world)
        await _completed(run_job, JOB, world)
        assert show.id not in await _suggested(db, "series")
        resolved = await db.fetchrow("SELECT source, tmdb_id FROM discovery_external_ids WHERE external_id = $1",
                                     str(show.tvdb_id))  # fmt: skip
        assert tuple(resolved) == ("tvdb", show.id)


async def test_a_user_with_a_parental_limit_gets_only_ratings_the_server_shows_them(
    dworld: DiscoveryWorld, run_job: Any, db: asyncpg.Pool
) -> None:
    state = dworld.world.sim.state
    kid = next(u for u in state.users.values() if u.name == "viewer2")
    state.users[kid.id].policy["MaxParentalRating"] = 10  # PG and below on the server's scale
    for job in ("sync-users", "sync-movie-watch-history"):
        await _completed(run_job, job, dworld.settings)
    shown = {
        r["official_rating"]
        for r in await db.fetch(
            "SELECT m.official_rating FROM user_visible_items v, unnest(v.item_ids) i JOIN movies m ON m.id = i"
            " WHERE v.user_id = $1",
            kid.id,
        )
    }
    assert shown and shown <= {"G", "PG", None}
    result = await _completed(run_job, JOB, dworld.settings)
    rows = await db.fetch(
        "SELECT s.user_id, t.certification FROM discovery_suggestions s JOIN discovery_titles t"
        " ON t.media_type = 'movie' AND t.tmdb_id = s.tmdb_id"
    )
    kids = [r["certification"] for r in rows if r["user_id"] == kid.id]
    assert kids and set(kids) <= {"G", "PG"}
    assert result["parental_dropped"] > 0  # titles rated PG-13 or R were there to drop
    # Only the restricted user's candidates were certified: one details request each, cached.
    assert dworld.tmdb.requests["/movie/{id}"] == result["certifications"] > 0
    others = [r["certification"] for r in rows if r["user_id"] != kid.id]
    assert len(others) == 2 * SUGGESTIONS
    again = await _completed(run_job, JOB, dworld.settings)
    assert again.get("certifications", 0) == 0 and again["tmdb_requests"] == 0
