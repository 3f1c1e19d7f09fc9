"""State that several media kinds share or keep apart, checked with a second kind.

Only movies exist so far, so the second kind ("clips") is movies under other names and tables: enough
to see that a kind never overwrites or ignores what belongs to another.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import asyncpg
import numpy as np
import pytest

from sidecar.composition import MEDIA_KINDS
from sidecar.embeddings.activation import settle_active_model
from sidecar.jobs.executor import run_inline
from sidecar.jobs.registry import JobRegistry
from sidecar.jobs.resources import JobResources
from sidecar.media.graph import job_graph
from sidecar.media.kind import MediaKind, Step
from sidecar.media.source_libraries import select_libraries
from sidecar.media.tables import KindTables
from sidecar.mediaserver import Library
from sidecar.movies import MOVIES
from sidecar.settings import Settings
from sidecar.simulator import running_simulator
from tests.factory import add_item, add_model, add_user, add_vectors, set_picks
from tests.simhelpers import settings_for

CLIPS = dataclasses.replace(
    MOVIES,
    name="clips",
    singular="clip",
    tables=KindTables(
        items="clips",
        plays="clip_plays",
        vectors="clip_embeddings",
        picks="clip_recommendations",
        item_id="movie_id",
    ),
    # The movie SQL that names its tables, aimed at the clips ones.
    catalogue=dataclasses.replace(
        MOVIES.catalogue,
        upsert_incoming=MOVIES.catalogue.upsert_incoming.replace("INSERT INTO movies", "INSERT INTO clips"),
    ),
    text_query=MOVIES.text_query.replace("FROM movies", "FROM clips"),
    library=dataclasses.replace(
        MOVIES.library,
        folder="ai-clips",
        name_template=lambda settings: "AI Picks – Clips ({user})",
        picks_query=MOVIES.library.picks_query.replace(
            "movie_recommendations", "clip_recommendations"
        ).replace("JOIN movies", "JOIN clips"),
    ),
)
KINDS = (*MEDIA_KINDS, CLIPS)


@pytest.fixture
async def clip_tables(db: asyncpg.Pool) -> None:
    """The clips kind's tables, shaped like the movie ones (emptied with the rest between tests)."""
    for movie_table, clip_table in (
        ("movies", "clips"),
        ("movie_plays", "clip_plays"),
        ("movie_embeddings", "clip_embeddings"),
        ("movie_recommendations", "clip_recommendations"),
    ):
        await db.execute(f"CREATE TABLE IF NOT EXISTS {clip_table} (LIKE {movie_table} INCLUDING ALL)")


def _registry(*kinds: MediaKind) -> JobRegistry:
    registry = JobRegistry()
    for kind in kinds:
        registry.register_graph(job_graph(kind))
    return registry


async def _run(
    db: asyncpg.Pool, settings: Settings, kind: MediaKind, step: Step, **kw: Any
) -> asyncpg.Record:
    row = await run_inline(
        db, _registry(*KINDS), settings, kind.job(step), resources=JobResources(kinds=KINDS), **kw
    )
    assert row["status"] == "completed", row["error"]
    return row


def test_every_registered_kind_has_its_six_jobs_and_pipeline() -> None:
    registry = _registry(*KINDS)
    for kind in KINDS:
        assert registry.pipeline(kind.name) == tuple(kind.job(s) for s in Step if s is not Step.FULL_RESET)
        assert registry.is_downstream(kind.job(Step.LIBRARIES), of=kind.job(Step.SYNC))
        assert not registry.is_downstream(kind.job(Step.SYNC), of=kind.job(Step.LIBRARIES))
    assert not registry.is_downstream(CLIPS.job(Step.LIBRARIES), of=MOVIES.job(Step.SYNC))


async def test_watch_history_watermark_is_kept_per_kind(
    db: asyncpg.Pool, settings: Settings, clip_tables: None
) -> None:
    async with running_simulator("jellyfin", "sample") as sim:
        cfg = settings_for(settings, sim)
        await _run(db, cfg, MOVIES, Step.SYNC)
        await _run(db, cfg, MOVIES, Step.WATCH_HISTORY)
        movie_marks = await _watermarks(db, "movies")
        assert movie_marks and not await _watermarks(db, "clips")
        await _run(db, cfg, CLIPS, Step.SYNC)
        await _run(db, cfg, CLIPS, Step.WATCH_HISTORY)
    assert await _watermarks(db, "movies") == movie_marks  # the clips run left the movies' alone
    assert set(await _watermarks(db, "clips")) == set(movie_marks)
    assert await db.fetchval("SELECT count(*) FROM clip_plays") == await db.fetchval(
        "SELECT count(*) FROM movie_plays"
    )


async def _watermarks(db: asyncpg.Pool, kind: str) -> dict[str, Any]:
    rows = await db.fetch("SELECT user_id, synced_at FROM watch_history_watermarks WHERE kind = $1", kind)
    return {r["user_id"]: r["synced_at"] for r in rows}


async def test_a_user_has_one_folder_for_all_their_libraries(
    db: asyncpg.Pool, settings: Settings, clip_tables: None, tmp_path: Any
) -> None:
    # Two users with the same display name: the first to get a library keeps "Max" for every kind.
    for user_id in ("u1", "u2"):
        await add_user(db, user_id, "Max")
    for kind in (MOVIES, CLIPS):
        await add_item(db, "m1", kind=kind, title="One", year=2000)
    await set_picks(db, "u1", ["m1"])
    await set_picks(db, "u1", ["m1"], kind=CLIPS)
    await set_picks(db, "u2", ["m1"], kind=CLIPS)
    cfg = settings.model_copy(update={"library_root": tmp_path / "libraries"})
    await _run(db, cfg, MOVIES, Step.LIBRARIES)
    await _run(db, cfg, CLIPS, Step.LIBRARIES)
    rows = await db.fetch("SELECT user_id, media_type, folder_name FROM user_libraries ORDER BY 1, 2")
    folders = {(r["user_id"], r["media_type"]): r["folder_name"] for r in rows}
    assert folders[("u1", "movies")] == folders[("u1", "clips")] == "Max"
    assert folders[("u2", "clips")] not in ("Max", "max")
    users_dir = cfg.resolved_library_root / "users"
    assert (users_dir / "Max" / "ai-movies").is_dir() and (users_dir / "Max" / "ai-clips").is_dir()


def test_own_libraries_of_every_kind_are_never_sources(settings: Settings) -> None:
    def library(name: str) -> Library:
        return Library(
            id=name, item_id=name, guid=name, name=name, collection_type="movies", locations=("/media/x",)
        )

    server = [library("Films"), library("AI Picks – Movies (Max)"), library("AI Picks – Clips (Max)")]
    chosen = select_libraries(server, settings, MOVIES, KINDS).chosen
    assert [lib.name for lib in chosen] == ["Films"]


async def test_a_model_switch_counts_the_vectors_of_every_kind(db: asyncpg.Pool, clip_tables: None) -> None:
    vector = {"a": np.ones(4, dtype=np.float32) / 2}
    for kind in (MOVIES, CLIPS):
        await add_item(db, "a", kind=kind)
        await add_vectors(db, vector, model="old", kind=kind)
    await add_model(db, "old", 4)
    await add_model(db, "new", 4, active=False)
    await add_vectors(db, vector, model="new")  # every movie has a vector of the new model, no clip has
    every_kind = [kind.tables for kind in KINDS]
    kept = await settle_active_model(db, every_kind, "new", full_run=True)
    assert not kept.activated and kept.active_model == "old" and (kept.total, kept.missing) == (2, 1)
    assert await db.fetchval("SELECT count(*) FROM clip_embeddings WHERE model = 'old'") == 1
    await add_vectors(db, vector, model="new", kind=CLIPS)
    switched = await settle_active_model(db, every_kind, "new", full_run=True)
    assert switched.activated and switched.deleted_vectors == 2  # the old model's, in both tables
