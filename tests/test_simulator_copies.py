"""Copies: the items a server makes when it scans an AI Picks library, and what they mean to the sidecar.

The real sidecar parts write the folders and ask for the scan (sync-movie-libraries), the simulator
scans them from disk like a server, and a play of a copy shows up as a play of the original (user
data is keyed by TMDb id), over HTTP as the sidecar reads it. Both dialects.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from sidecar.movies.model import RankedMovie
from sidecar.movies.nfo import build_movie_nfo
from sidecar.settings import Settings
from sidecar.simulator import RunningSimulator, SimMovie, running_simulator
from sidecar.simulator.model import Event, SimState
from sidecar.simulator.scan import read_nfo
from sidecar.simulator.webhook_bodies import render_webhook
from tests.factory import set_picks
from tests.simhelpers import settings_for

KINDS = ["jellyfin", "emby"]


@dataclass
class Copies:
    sim: RunningSimulator
    settings: Settings
    seeded: dict[str, SimMovie]  # sample key -> original movie
    users: dict[str, str]  # name -> id
    events: list[Event]

    @property
    def state(self) -> SimState:
        return self.sim.state

    def copies_of(self, user: str) -> list[SimMovie]:
        library = next(lib for lib in self.state.libraries if lib.name.endswith(f"({user})"))
        return [m for m in self.state.movies.values() if m.library_id == library.item_id]

    def copy_of(self, user: str, key: str) -> SimMovie:
        original = self.seeded[key]
        return next(
            m for m in self.copies_of(user) if m.provider_ids.get("Tmdb") == original.provider_ids["Tmdb"]
        )


SAMPLE_KEYS = {
    "The Matrix": "matrix",
    "Inception": "inception",
    "Spirited Away": "spirited",
    "Arrival": "arrival",
}


def _link_target(path: str) -> str | None:
    entry = Path(path)
    return str(entry.readlink()) if entry.is_symlink() else None


@pytest.fixture
def copies_factory(db: asyncpg.Pool, settings: Settings, run_job: Any, tmp_path: Path) -> Any:
    """`async with copies_factory(kind) as c:` the sample server, synced, with picks written and
    scanned: alice gets Arrival, bob The Matrix and Spirited Away, kids nothing."""

    @contextlib.asynccontextmanager
    async def start(kind: str, sharing: str = "item", **overrides: Any) -> AsyncIterator[Copies]:
        media = tmp_path / "media"
        async with running_simulator(kind, seed="sample") as sim:  # type: ignore[arg-type]
            sim.state.user_data_sharing = sharing  # type: ignore[assignment]
            for movie in sim.state.movies.values():
                assert movie.path is not None
                local = media / Path(movie.path).relative_to("/media")
                local.parent.mkdir(parents=True, exist_ok=True)
                local.write_bytes(b"video")
            run_settings = settings_for(
                settings,
                sim,
                library_root=tmp_path / "libraries",
                path_mappings={"/media": str(media)},
                **overrides,
            )
            for job in ("sync-movies", "sync-movie-watch-history"):
                row = await run_job(job, settings=run_settings)
                assert row["status"] == "completed", row["error"]
            seeded = {SAMPLE_KEYS[m.name]: m for m in sim.state.movies.values()}
            users = {u.name: u.id for u in sim.state.users.values()}
            await set_picks(db, users["alice"], [seeded["arrival"].id])
            await set_picks(db, users["bob"], [seeded["matrix"].id, seeded["spirited"].id])
            events: list[Event] = []
            sim.state.listeners.append(events.append)
            row = await run_job("sync-movie-libraries", settings=run_settings)
            assert row["status"] == "completed", row["error"]
            yield Copies(sim, run_settings, seeded, users, events)

    return start


@pytest.mark.parametrize("kind", KINDS)
async def test_a_scan_makes_one_copy_per_entry_from_the_nfo_and_removes_vanished_ones(
    kind: str, copies_factory: Any, db: asyncpg.Pool, run_job: Any
) -> None:
    async with copies_factory(kind) as c:
        state = c.state
        root = c.settings.resolved_library_root / "users"
        for user, keys in (("alice", ["arrival"]), ("bob", ["matrix", "spirited"])):
            copies = {Path(m.path or "").parent.name: m for m in c.copies_of(user)}
            assert len(copies) == len(keys)
            for key in keys:
                original = c.seeded[key]
                copy = copies[f"{original.name} ({original.year})"]  # the entry folder: no rank in it
                assert copy.id != original.id
                assert (copy.name, copy.year) == (original.name, original.year)
                assert copy.provider_ids == {
                    "Tmdb": original.provider_ids["Tmdb"],
                    "Imdb": original.provider_ids["Imdb"],
                }
                assert Path(copy.path or "").parent.parent == root / user / "ai-movies"
                assert _link_target(copy.path or "") == original.path  # the link the server follows
        assert not any(lib.name.endswith("(kids)") for lib in state.libraries)  # no picks, no library
        # The seeded library kept its items; the scan announced each copy once.
        assert {m.id for m in state.movies.values() if m.library_id == c.seeded["matrix"].library_id} == {
            m.id for m in c.seeded.values()
        }
        added = [e["item_id"] for e in c.events if e["type"] == "item_added"]
        assert sorted(added) == sorted(m.id for u in ("alice", "bob") for m in c.copies_of(u))

        # bob's picks change: Spirited Away goes, Inception comes; the folders are rewritten and
        # rescanned, so its copy goes and Inception's appears.
        gone = c.copy_of("bob", "spirited")
        c.events.clear()
        await set_picks(db, c.users["bob"], [c.seeded["matrix"].id, c.seeded["inception"].id])
        row = await run_job("sync-movie-libraries", settings=c.settings)
        assert row["status"] == "completed", row["error"]
        assert gone.id not in state.movies
        assert {m.name for m in c.copies_of("bob")} == {"The Matrix", "Inception"}
        assert [e["item_id"] for e in c.events if e["type"] == "item_removed"] == [gone.id]
        assert [e["item_id"] for e in c.events if e["type"] == "item_added"] == [
            c.copy_of("bob", "inception").id
        ]
        assert {m.name for m in c.copies_of("alice")} == {"Arrival"}


@pytest.mark.parametrize("kind", KINDS)
async def test_a_played_copy_is_the_original_played_in_every_rendering(
    kind: str, copies_factory: Any
) -> None:
    # A server that shares user data by provider key (Jellyfin 10.10; an Emby that would). Jellyfin
    # >= 10.11 keeps it per item: see tests/mediaserver/test_played_marks.py.
    async with copies_factory(kind, sharing="provider") as c:
        state, bob = c.state, c.users["bob"]
        original, copy = c.seeded["matrix"], c.copy_of("bob", "matrix")
        assert state.user_data_of(bob, original.id) is None

        state.record_play(bob, copy.id, at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
        assert state.user_data_of(bob, original.id) is state.user_data_of(bob, copy.id)
        assert {original.id, copy.id} <= set(state.items_with_data(bob))
        # Over HTTP, as the sidecar reads it: the played list and the item's own UserData.
        prefix = "/emby" if kind == "emby" else ""
        headers = {"X-Emby-Token": c.sim.api_key}
        async with aiohttp.ClientSession(c.sim.url, headers=headers) as http:
            params = {"userId": bob, "IncludeItemTypes": "Movie", "Recursive": "true", "IsPlayed": "true"}
            async with http.get(f"{prefix}/Items", params=params) as response:
                played = {item["Id"] for item in (await response.json())["Items"]}
            async with http.get(f"{prefix}/Items", params={"userId": bob, "Ids": original.id}) as response:
                [item] = (await response.json())["Items"]
        assert {original.id, copy.id} <= played
        assert item["UserData"]["Played"] is True and item["UserData"]["PlayCount"] == 1
        # The webhook the server would send about the original carries the shared state too.
        body = render_webhook(
            state,
            {"type": "user_data_saved", "user_id": bob, "item_id": original.id, "reason": "TogglePlayed"},
            "send_all" if kind == "jellyfin" else "json",
        )
        assert body is not None
        assert body.event == ("UserDataSaved" if kind == "jellyfin" else "item.markplayed")
        # And back: unplayed on the original is unplayed on the copy; other users are untouched.
        state.mark_played(bob, original.id, played=False)
        data = state.user_data_of(bob, copy.id)
        assert data is not None and not data.played
        assert state.user_data_of(c.users["kids"], copy.id) is None  # kids never played The Matrix

        # Removing the copy keeps the original's data; removing the last holder drops it.
        state.record_play(bob, copy.id)
        state.remove_movie(copy.id)
        kept = state.user_data_of(bob, original.id)
        assert kept is not None and kept.played


def test_the_scan_reads_back_the_nfo_the_sidecar_writes(tmp_path: Path) -> None:
    movie = RankedMovie(
        movie_id="x1", rank=3, title="Arrival", year=2016, original_title="Arrival", overview="Aliens.",
        genres=("Drama", "Science Fiction"), runtime_ticks=116 * 600_000_000, tmdb_id="329865",
        imdb_id="tt2543164",
    )  # fmt: skip
    nfo = build_movie_nfo(movie, position=3, width=2, date_added=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    (tmp_path / "Arrival (2016).nfo").write_bytes(nfo)
    fields = read_nfo(str(tmp_path / "Arrival (2016).nfo"))
    assert fields["name"] == "Arrival" and fields["year"] == 2016 and fields["sort_name"] == "03 Arrival"
    assert fields["provider_ids"] == {"Tmdb": "329865", "Imdb": "tt2543164"}
    assert fields["genres"] == ["Drama", "Science Fiction"] and fields["runtime_ticks"] == movie.runtime_ticks


# --- the sidecar, with copies on the server -------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("configured", [[], ["Movies"]], ids=["all-movie-libraries", "configured"])
async def test_sync_movies_never_turns_copies_into_movies(
    kind: str, configured: list[str], copies_factory: Any, db: asyncpg.Pool, run_job: Any
) -> None:
    async with copies_factory(kind, movie_libraries=configured) as c:
        copies = [m.id for u in ("alice", "bob") for m in c.copies_of(u)]
        assert len(copies) == 3
        full = await run_job("sync-movies", settings=c.settings)
        scoped = await run_job("sync-movies", settings=c.settings, scope={"item_ids": copies})
        assert full["status"] == scoped["status"] == "completed", (full["error"], scoped["error"])
        assert full["result"]["added"] == scoped["result"]["added"] == 0
        assert scoped["result"]["removed"] == 0 and "follow_ups" not in scoped["result"]
        stored = {r["id"] for r in await db.fetch("SELECT id FROM movies WHERE removed_at IS NULL")}
        assert stored == {m.id for m in c.seeded.values()}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("variant", ["regular", "full"])
@pytest.mark.parametrize("sharing", ["item", "provider"])  # Jellyfin >= 10.11 / Emby, and 10.10
async def test_watch_history_counts_a_played_copy_for_its_original(
    kind: str, variant: str, sharing: str, copies_factory: Any, db: asyncpg.Pool, run_job: Any
) -> None:
    async with copies_factory(kind, sharing=sharing) as c:
        bob, original, copy = c.users["bob"], c.seeded["matrix"], c.copy_of("bob", "matrix")
        c.state.record_play(bob, copy.id)
        row = await run_job("sync-movie-watch-history", settings=c.settings, variant=variant)
        assert row["status"] == "completed", row["error"]
        played = await db.fetchval(
            "SELECT played FROM movie_plays WHERE user_id = $1 AND movie_id = $2", bob, original.id
        )
        assert played is True
        assert await db.fetchval("SELECT count(*) FROM movie_plays WHERE movie_id = $1", copy.id) == 0
        # A copy is not an unknown movie: its play is the original's.
        assert row["result"]["skipped_unknown_movies"] == 0, row["result"]
        assert row["result"]["copies_counted"] == 1 and row["result"]["users_failed"] == 0


@pytest.mark.parametrize("kind", KINDS)
async def test_a_watch_history_run_scoped_to_a_copy_id_counts_the_play_for_the_original(
    kind: str, copies_factory: Any, db: asyncpg.Pool, run_job: Any
) -> None:
    """What a copy play becomes when the planner could not map it (it names the copy alone)."""
    async with copies_factory(kind) as c:
        bob, original, copy = c.users["bob"], c.seeded["matrix"], c.copy_of("bob", "matrix")
        played = "SELECT played FROM movie_plays WHERE user_id = $1 AND movie_id = $2"
        assert await db.fetchval(played, bob, original.id) is None
        c.state.record_play(bob, copy.id)
        row = await run_job(
            "sync-movie-watch-history", settings=c.settings, scope={"user_ids": [bob], "item_ids": [copy.id]}
        )
        assert row["status"] == "completed", row["error"]
        assert row["result"]["users_failed"] == 0 and row["result"]["plays_removed"] == 0
        assert (row["result"]["copies_counted"], row["result"]["skipped_unknown_movies"]) == (1, 0)
        assert await db.fetchval(played, bob, original.id) is True
        assert await db.fetchval(played, bob, copy.id) is None


@pytest.mark.parametrize("kind", KINDS)
async def test_strm_entries_make_copies_and_a_full_scan_drops_the_ones_whose_folder_vanished(
    kind: str, copies_factory: Any
) -> None:
    async with copies_factory(kind, library_mode="strm") as c:
        matrix, spirited = c.copy_of("bob", "matrix"), c.copy_of("bob", "spirited")
        assert (matrix.path or "").endswith("/The Matrix (1999).strm") and matrix.container == "strm"
        seeded_items = {m.id for m in c.seeded.values()}
        _remove_entry_folder(matrix.path or "")
        c.events.clear()
        prefix = "/emby" if kind == "emby" else ""
        async with (
            aiohttp.ClientSession(c.sim.url, headers={"X-Emby-Token": c.sim.api_key}) as http,
            http.post(f"{prefix}/Library/Refresh") as response,
        ):
            assert response.status == 204
        await c.state.settle()  # the scan runs after the answer, its reading in a worker thread
        assert matrix.id not in c.state.movies and spirited.id in c.state.movies
        assert [(e["type"], e["item_id"]) for e in c.events] == [("item_removed", matrix.id)]
        assert seeded_items <= set(c.state.movies)  # the seeded library is never scanned


def _remove_entry_folder(entry_path: str) -> None:
    folder = Path(entry_path).parent
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()
