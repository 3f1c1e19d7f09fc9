"""The series jobs end to end against the simulator over HTTP, in both dialects: sync (real episodes
only, provider ids, the sidecar's own libraries skipped), watch history and show states, embeddings,
recommendations (started shows never picked, a user with only movie plays gets series picks), and
the per-user series library on disk and on the server."""

from __future__ import annotations

import contextlib
import os
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from sidecar.settings import Settings
from sidecar.simulator import RunningSimulator, running_simulator
from sidecar.simulator.openai_server import OpenAIEmbeddingsSimulator, serve
from tests.simhelpers import settings_for

KINDS = ["jellyfin", "emby"]
SERIES_JOBS = (
    "sync-series",
    "generate-series-embeddings",
    "sync-series-watch-history",
    "generate-series-recommendations",
    "sync-series-libraries",
)


@dataclass
class Setup:
    sim: RunningSimulator
    settings: Settings
    users: dict[str, str]  # name -> id
    shows: dict[str, str]  # title -> series id

    def root(self, user: str) -> Path:
        return self.settings.resolved_library_root / "users" / user / "ai-series"


def _media_file(media: Path, server_path: str) -> None:
    local = media / Path(server_path).relative_to("/media")
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_bytes(b"video")


@contextlib.asynccontextmanager
async def _setup(kind: str, settings: Settings, tmp_path: Path) -> AsyncIterator[Setup]:
    media = tmp_path / "media"
    async with (
        running_simulator(kind, "sample", tv="sample") as sim,  # type: ignore[arg-type]
        serve(OpenAIEmbeddingsSimulator()) as openai_url,
    ):
        for episode in sim.state.tv.episodes.values():
            if episode.path:
                _media_file(media, episode.path)
        run_settings = settings_for(
            settings,
            sim,
            library_root=tmp_path / "libraries",
            path_mappings={"/media": str(media)},
            openai_base_url=openai_url,
            embedding_dimensions=64,
            series_picks_per_user=3,
        )
        users = {u.name: u.id for u in sim.state.users.values()}
        shows = {s.name: s.id for s in sim.state.tv.series.values()}
        yield Setup(sim, run_settings, users, shows)


async def _run(run_job: Any, setup: Setup, job: str, **kwargs: Any) -> dict[str, Any]:
    row = await run_job(job, settings=setup.settings, **kwargs)
    assert row["status"] == "completed", (job, row["error"])
    return dict(row["result"])


async def _states(db: asyncpg.Pool, user_id: str) -> dict[str, tuple[str, int, int]]:
    rows = await db.fetch(
        """SELECT s.title, u.state, u.episodes_played, u.episodes_available FROM series_user_state u
           JOIN series s ON s.id = u.series_id WHERE u.user_id = $1""",
        user_id,
    )
    return {r["title"]: (r["state"], r["episodes_played"], r["episodes_available"]) for r in rows}


async def _picks(db: asyncpg.Pool, user_id: str) -> list[str]:
    rows = await db.fetch(
        "SELECT series_id FROM series_recommendations WHERE user_id = $1 ORDER BY rank", user_id
    )
    return [r["series_id"] for r in rows]


@pytest.mark.parametrize("kind", KINDS)
async def test_series_pipeline_end_to_end(
    kind: str, db: asyncpg.Pool, settings: Settings, tmp_path: Path, run_job: Any
) -> None:
    async with _setup(kind, settings, tmp_path) as setup:
        sim, tv = setup.sim, setup.sim.state.tv
        # A viewer with movie plays and no series plays: series picks come from their movie taste.
        dana = sim.state.add_user("dana")
        for movie_id in list(sim.state.movies)[:2]:
            sim.state.record_play(dana.id, movie_id)
        for job in ("sync-movies", "sync-movie-watch-history", "generate-movie-embeddings"):
            await _run(run_job, setup, job)

        synced = await _run(run_job, setup, "sync-series")
        real = {e.id for e in tv.episodes.values() if not e.virtual}
        assert synced["added"] == len(tv.series) and synced["episodes"]["added"] == len(real)
        stored = {r["id"] for r in await db.fetch("SELECT id FROM episodes")}
        assert stored == real  # virtual (missing, future) episodes never become rows
        harbor = await db.fetchrow("SELECT * FROM series WHERE id = $1", setup.shows["Harbor Lights"])
        assert (harbor["tmdb_id"], harbor["tvdb_id"], harbor["imdb_id"]) == ("60000", "250000", "tt1200000")
        first = await db.fetchrow(
            "SELECT * FROM episodes WHERE series_id = $1 AND season_number = 1 AND episode_number = 1",
            harbor["id"],
        )
        assert first["tmdb_id"] == "3000101" and first["tvdb_id"] == "7000101"  # the episode's own ids

        history = await _run(run_job, setup, "sync-series-watch-history")
        assert history["plays_written"] > 0
        alice = await _states(db, setup.users["alice"])
        assert alice["Harbor Lights"] == ("finished", 12, 12)
        assert alice["The Quiet Signal"] == ("watching", 3, 7)  # E04 missing, season 2 not aired
        assert alice["Who Killed Rosa? / Part: One"][0] == "dropped"
        bob = await _states(db, setup.users["bob"])
        assert bob["Who Killed Rosa? / Part: One"] == ("started", 0, 5)  # a special alone: started
        assert bob["The Quiet Signal"][0] == "started"  # in progress only

        embedded = await _run(run_job, setup, "generate-series-embeddings")
        assert embedded["embedded"] == len(tv.series)
        recs = await _run(run_job, setup, "generate-series-recommendations")
        assert recs["users_failed"] == 0
        started = {
            name: {r["series_id"] for r in await db.fetch(
                "SELECT series_id FROM series_user_state WHERE user_id = $1", uid)}
            for name, uid in setup.users.items()
        }  # fmt: skip
        for name, user_id in setup.users.items():
            picks = await _picks(db, user_id)
            assert not set(picks) & started[name], name  # a started show is never a new pick
        dana_picks = await _picks(db, dana.id)
        assert len(dana_picks) == 3  # cold start from movie taste
        evidence = await db.fetchval(
            "SELECT evidence FROM series_recommendations WHERE user_id = $1 AND rank = 1", dana.id
        )
        movie_titles = {m.name for m in sim.state.movies.values()}
        assert evidence and {e["title"] for e in evidence} <= movie_titles

        libraries = await _run(run_job, setup, "sync-series-libraries")
        assert libraries["failed"] == 0 and libraries["libraries_created"] >= 3
        folder = setup.root("alice")
        picks = await _picks(db, setup.users["alice"])
        titles = {
            r["id"]: (r["title"], r["year"])
            for r in await db.fetch("SELECT id, title, year FROM series WHERE id = ANY($1)", picks)
        }
        assert {p.name for p in folder.iterdir()} == {f"{t} ({y})" for t, y in titles.values()}
        for show_dir in folder.iterdir():
            nfo = ET.parse(show_dir / "tvshow.nfo").getroot()
            assert nfo.tag == "tvshow" and nfo.findtext("lockdata") == "true"
            assert {u.get("type") for u in nfo.findall("uniqueid")} == {"tmdb", "tvdb", "imdb"}
            assert nfo.findtext("sorttitle").split(" - ")[0].isdigit()
            seasons = sorted(p.name for p in show_dir.iterdir() if p.is_dir())
            assert seasons and all(s.startswith("Season ") for s in seasons)
            for season in seasons:
                for entry in (show_dir / season).iterdir():
                    if entry.suffix == ".nfo":
                        episode = ET.parse(entry).getroot()
                        assert episode.tag == "episodedetails" and episode.findtext("season") is not None
                    else:
                        assert entry.is_symlink() and os.readlink(entry).startswith("/media/")
                        assert " S" in entry.stem and "E" in entry.stem
        # Each user's series library exists on the server, typed tvshows, visible to its owner only.
        ours = [lib for lib in sim.state.libraries if lib.name.startswith("AI Picks – Series")]
        assert ours and all(lib.collection_type == "tvshows" for lib in ours)
        people = {u.name: u for u in sim.state.users.values()}
        for library in ours:
            owner = library.name.removeprefix("AI Picks – Series (").removesuffix(")")
            assert {n for n, u in people.items() if sim.state.can_see(u, library)} == {owner}

        again = await _run(run_job, setup, "sync-series-libraries")
        assert again["files_written"] == 0 and again["entries_written"] == 0
        # The AI libraries (scanned into copies) are never a source: a re-sync adds nothing.
        resynced = await _run(run_job, setup, "sync-series")
        assert resynced["added"] == 0 and resynced["episodes"]["added"] == 0


@pytest.mark.parametrize("kind", KINDS)
async def test_removal_only_after_a_complete_listing(
    kind: str, db: asyncpg.Pool, settings: Settings, tmp_path: Path, run_job: Any
) -> None:
    async with _setup(kind, settings, tmp_path) as setup:
        tv = setup.sim.state.tv
        await _run(run_job, setup, "sync-series")
        gone = next(e for e in tv.episodes.values() if not e.virtual)
        tv.remove(gone.id, emit=False)
        setup.sim.faults.fail("/Items", status=500, times=None, query={"IncludeItemTypes": "Episode"})
        failed = await run_job("sync-series", settings=setup.settings)
        assert failed["status"] == "failed"
        assert await db.fetchval("SELECT removed_at FROM episodes WHERE id = $1", gone.id) is None
        setup.sim.faults.rules.clear()
        done = await _run(run_job, setup, "sync-series")
        assert done["episodes"]["removed"] == 1
        assert await db.fetchval("SELECT removed_at FROM episodes WHERE id = $1", gone.id) is not None


@pytest.mark.parametrize("kind", KINDS)
async def test_a_started_pick_stays_in_the_library(
    kind: str, db: asyncpg.Pool, settings: Settings, tmp_path: Path, run_job: Any
) -> None:
    async with _setup(kind, settings, tmp_path) as setup:
        tv = setup.sim.state.tv
        for job in SERIES_JOBS:
            await _run(run_job, setup, job)
        kids = setup.users["kids"]
        picked = (await _picks(db, kids))[1]
        show_folders = {p.name for p in setup.root("kids").iterdir()}
        first = sorted(
            (e for e in tv.episodes_of(picked) if not e.virtual and e.parent_index_number),
            key=lambda e: (e.parent_index_number, e.index_number),
        )[0]
        tv.record_play(kids, first.id, emit=False)
        await _run(run_job, setup, "sync-series-watch-history")
        await _run(run_job, setup, "generate-series-recommendations")
        await _run(run_job, setup, "sync-series-libraries")
        picks = await _picks(db, kids)
        assert picks[0] == picked  # kept, ahead of the new picks, which it does not count against
        assert len(picks) == 4
        assert show_folders < {p.name for p in setup.root("kids").iterdir()} | show_folders
        title = await db.fetchval("SELECT title FROM series WHERE id = $1", picked)
        assert any(p.name.startswith(title) for p in setup.root("kids").iterdir())
