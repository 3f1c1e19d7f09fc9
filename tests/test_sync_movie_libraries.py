"""sync-movie-libraries end to end: real Postgres, real filesystem, the media-server simulator over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import os
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from sidecar.jobs.resources import JobResources
from sidecar.media.kind import MediaKind, Step
from sidecar.mediaserver.base import Library, ServerKind
from sidecar.settings import Settings
from sidecar.simulator import MediaServerSimulator, RunningSimulator, running_simulator
from sidecar.simulator.faults import Fault
from tests.factory import add_item, add_user, set_picks
from tests.fs_snapshot import snapshot
from tests.simhelpers import settings_for

SERVER_ROOT = "/srv/ai-picks"  # the library root as the media server sees it


# --- data set-up with plain SQL ------------------------------------------------------------------------
async def add_movie(
    db: asyncpg.Pool, media_dir: Path, movie_id: str, title: str, year: int | None = 2000
) -> str:
    """A movie whose file really exists under `media` (server path /media/...)."""
    file_name = f"{movie_id}.mkv"
    (media_dir / "movies").mkdir(parents=True, exist_ok=True)
    (media_dir / "movies" / file_name).write_bytes(b"video")
    server_path = f"/media/movies/{file_name}"
    await add_item(
        db,
        movie_id,
        title=title,
        original_title=title,
        year=year,
        overview=f"Overview of {title}",
        genres=["Drama", "Comedy"],
        studios=["Studio A"],
        community_rating=7.5,
        official_rating="PG-13",
        runtime_ticks=72000000000,
        provider_ids={"tmdb": f"9{movie_id[-3:]}"},
        tmdb_id=f"9{movie_id[-3:]}",
        imdb_id=f"tt{movie_id[-3:]}",
        path=server_path,
    )
    return server_path


# --- fixtures ---------------------------------------------------------------------------------------
@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    return tmp_path / "media"


@pytest.fixture
def lib_settings(settings: Settings, tmp_path: Path, media_dir: Path) -> Settings:
    return settings.model_copy(
        update={
            "library_root": tmp_path / "libraries",
            "library_server_root": SERVER_ROOT,
            "path_mappings": {"/media": str(media_dir)},
        }
    )


class SimServer:
    """A running simulator (no seed) with the assertions these tests make about its libraries."""

    def __init__(self, sim: RunningSimulator) -> None:
        self.sim = sim
        self.state = sim.state

    def add_library(self, name: str, path: str, collection_type: str | None = "movies") -> Library:
        lib = self.state.add_library(name, collection_type, [path])
        return self._library(lib)

    def add_user(
        self,
        name: str,
        *,
        user_id: str | None = None,
        enable_all_folders: bool = True,
        enabled_folders: list[str] | None = None,
    ) -> str:
        folders = None if enable_all_folders else list(enabled_folders or [])
        return self.state.add_user(name, id=user_id, enabled_folders=folders).id

    @property
    def created(self) -> list[str]:
        """Libraries created through the API (the sidecar's), in creation order."""
        return [lib.name for lib in self.state.libraries if lib.scans_folders]

    @property
    def refreshed(self) -> list[str]:
        """Libraries asked to rescan (POST /Items/{id}/Refresh)."""
        return [r["item_id"] for r in self.state.refresh_requests if r["reason"] == "refresh"]

    @property
    def policy_writes(self) -> list[tuple[str, dict[str, Any]]]:
        return self.state.policy_updates

    def clear_refreshed(self) -> None:
        self.state.refresh_requests.clear()

    def delete_library(self, name: str) -> None:
        self.state.libraries[:] = [lib for lib in self.state.libraries if lib.name != name]
        self.state.touch()

    def visible_libraries(self, user_id: str) -> set[str]:
        user = self.state.users[user_id]
        return {lib.name for lib in self.state.libraries if self.state.can_see(user, lib)}

    def policy(self, user_id: str) -> dict[str, Any]:
        return self.state.users[user_id].policy

    async def list_libraries(self) -> list[Library]:
        return [self._library(lib) for lib in self.state.libraries]

    @staticmethod
    def _library(lib: Any) -> Library:
        return Library(
            lib.folder_id, lib.item_id, lib.guid, lib.name, lib.collection_type, tuple(lib.locations)
        )


@pytest.fixture
async def make_server() -> AsyncIterator[Any]:
    """`await make_server(kind)`: a simulator whose host sees the library root (unless told not to)."""
    async with contextlib.AsyncExitStack() as stack:

        async def make(
            kind: ServerKind = "jellyfin", *, root_visible: bool = True, simulator: type | None = None
        ) -> SimServer:
            sim = await stack.enter_async_context(
                running_simulator(kind, simulator=(simulator or MediaServerSimulator)(kind, seed=None))
            )
            if root_visible:
                sim.state.host_paths.add(SERVER_ROOT)
            return SimServer(sim)

        yield make


def user_folder(media: MediaKind, settings: Settings, folder: str) -> Path:
    return settings.resolved_library_root / "users" / folder / media.library.folder


async def run_job_on(
    media: MediaKind, run_job: Any, settings: Settings, server: SimServer | None, **kwargs: Any
) -> asyncpg.Record:
    """sync-movie-libraries with `server` as the media server (None: no media server configured)."""
    if server is not None:
        settings = settings_for(settings, server.sim)
    return await run_job(media.job(Step.LIBRARIES), settings=settings, **kwargs)


async def run_libraries(
    media: MediaKind, run_job: Any, settings: Settings, server: SimServer | None, **kwargs: Any
) -> dict[str, Any]:
    row = await run_job_on(media, run_job, settings, server, **kwargs)
    assert row["status"] == "completed", row["error"]
    return row["result"]


# --- tests ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["jellyfin", "emby"])
async def test_layout_symlinks_nfo_and_private_libraries(
    media: MediaKind,
    db: asyncpg.Pool,
    run_job: Any,
    lib_settings: Settings,
    media_dir: Path,
    kind: ServerKind,
    make_server: Any,
) -> None:
    server = await make_server(kind)
    movies_lib = server.add_library("Movies", "/media/movies")
    alice = server.add_user("Alice", enable_all_folders=True)
    bob = server.add_user("Bob", enable_all_folders=False, enabled_folders=[movies_lib.guid])
    carol = server.add_user("Carol", enable_all_folders=True)  # on the server, no AI Picks
    await add_user(db, alice, "Alice")
    await add_user(db, bob, "Bob")
    await add_user(db, carol, "Carol", enabled=False)
    paths = {
        m: await add_movie(db, media_dir, m, f"Film {m}", 1990 + i)
        for i, m in enumerate(["m001", "m002", "m003"])
    }
    await set_picks(db, alice, ["m002", "m001", "m003"], explanation="Because you liked Film m009.")
    await set_picks(db, bob, ["m003"])

    result = await run_libraries(media, run_job, lib_settings, server)

    assert result["users"] == 2
    assert result["entries_written"] == 4 and result["entries_unchanged"] == 0
    assert result["libraries_created"] == 2 and result["failed"] == 0
    folder = user_folder(media, lib_settings, "Alice")
    assert sorted(p.name for p in folder.iterdir()) == [
        "Film m001 (1990)",
        "Film m002 (1991)",
        "Film m003 (1992)",
    ]
    entry = folder / "Film m002 (1991)"
    assert sorted(p.name for p in entry.iterdir()) == ["Film m002 (1991).mkv", "Film m002 (1991).nfo"]
    link = entry / "Film m002 (1991).mkv"
    assert link.is_symlink() and os.readlink(link) == paths["m002"]  # the server's path, not the mapped one
    nfo = ET.parse(entry / "Film m002 (1991).nfo").getroot()
    assert nfo.findtext("sorttitle") == "01 Film m002"
    assert nfo.findtext("plot", "").startswith("Because you liked Film m009.")
    assert nfo.find("uniqueid[@type='tmdb']").text == "9002"  # type: ignore[union-attr]
    assert nfo.findtext("runtime") == "120"

    alice_lib = "AI Picks – Movies (Alice)"
    bob_lib = "AI Picks – Movies (Bob)"
    assert sorted(server.created) == [alice_lib, bob_lib]
    libs = {lib.name: lib for lib in await server.list_libraries()}
    assert libs[alice_lib].locations == (f"{SERVER_ROOT}/users/Alice/ai-movies",)
    assert server.visible_libraries(alice) == {"Movies", alice_lib}
    assert server.visible_libraries(bob) == {"Movies", bob_lib}
    assert server.visible_libraries(carol) == {"Movies"}
    assert server.policy(alice)["EnableAllFolders"] is False
    assert sorted(server.refreshed) == sorted([libs[alice_lib].item_id, libs[bob_lib].item_id])
    assert movies_lib.item_id not in server.refreshed

    row = await db.fetchrow("SELECT * FROM user_libraries WHERE user_id = $1", alice)
    assert row["library_id"] == libs[alice_lib].id and row["library_guid"] == libs[alice_lib].guid
    assert row["entries"] == 3 and row["manifest_hash"] and row["last_synced_at"] is not None

    # a second run with nothing changed: no library, no policy write, no scan, no file
    server.clear_refreshed()
    writes_before = len(server.policy_writes)
    again = await run_libraries(media, run_job, lib_settings, server)
    assert again["entries_written"] == 0 and again["entries_unchanged"] == 4 and again["files_written"] == 0
    assert (
        again["libraries_created"] == 0 and again["policies_updated"] == 0 and again["scans_requested"] == 0
    )
    assert sorted(server.created) == [alice_lib, bob_lib]
    assert len(server.policy_writes) == writes_before
    assert server.refreshed == []


async def test_rank_change_rewrites_only_the_nfos_of_the_moved_entries(
    media: MediaKind,
    db: asyncpg.Pool,
    run_job: Any,
    lib_settings: Settings,
    media_dir: Path,
    make_server: Any,
) -> None:
    server = await make_server("jellyfin")
    alice = server.add_user("Alice")
    bob = server.add_user("Bob")
    await add_user(db, alice, "Alice")
    await add_user(db, bob, "Bob")
    ids = [f"m{i:03d}" for i in range(1, 6)]
    for m in ids:
        await add_movie(db, media_dir, m, f"Film {m}")
    await set_picks(db, alice, ids)
    await set_picks(db, bob, ids[:2])
    await run_libraries(media, run_job, lib_settings, server)
    alice_dir, bob_dir = user_folder(media, lib_settings, "Alice"), user_folder(media, lib_settings, "Bob")
    before_alice, before_bob = snapshot(alice_dir), snapshot(bob_dir)
    server.clear_refreshed()

    await set_picks(db, alice, ["m001", "m003", "m002", "m004", "m005"])  # swap ranks 2 and 3
    result = await run_libraries(media, run_job, lib_settings, server, scope={"user_ids": [alice, bob]})

    # The folders keep their names (the server keeps the items' ids and resume points): two NFOs change.
    assert result["entries_written"] == 2 and result["entries_removed"] == 0
    assert result["entries_unchanged"] == 3 + 2
    assert result["files_written"] == 2
    after = snapshot(alice_dir)
    assert after.keys() == before_alice.keys()
    files = [path for path in after if "/" in path]  # entry folders' mtimes move with their files
    changed = sorted(path for path in files if before_alice[path] != after[path])
    assert changed == ["Film m002 (2000)/Film m002 (2000).nfo", "Film m003 (2000)/Film m003 (2000).nfo"]
    assert all(after[path][0] == before_alice[path][0] for path in after if "/" not in path)
    nfo = ET.parse(alice_dir / "Film m003 (2000)" / "Film m003 (2000).nfo").getroot()
    assert nfo.findtext("sorttitle") == "02 Film m003"
    assert snapshot(bob_dir) == before_bob
    alice_lib = next(lib for lib in await server.list_libraries() if lib.name.endswith("(Alice)"))
    assert server.refreshed == [alice_lib.item_id]  # only the changed library is rescanned
    assert result["libraries_created"] == 0


async def test_a_scoped_run_checks_policies_only_when_it_created_a_library(
    media: MediaKind,
    db: asyncpg.Pool,
    run_job: Any,
    lib_settings: Settings,
    media_dir: Path,
    make_server: Any,
) -> None:
    # A webhook's run used to read every server user's policy (one request each) to change nothing.
    server = await make_server("jellyfin")
    alice, bob = server.add_user("Alice"), server.add_user("Bob")
    await add_user(db, alice, "Alice")
    await add_user(db, bob, "Bob")
    ids = [f"m{i:03d}" for i in range(1, 4)]
    for m in ids:
        await add_movie(db, media_dir, m, f"Film {m}")
    await set_picks(db, alice, ids)
    await run_libraries(media, run_job, lib_settings, server)
    server.sim.requests.clear()

    await set_picks(db, alice, list(reversed(ids)))
    changed = await run_libraries(media, run_job, lib_settings, server, scope={"user_ids": [alice]})
    assert changed["entries_written"] == 2 and changed["libraries_created"] == 0
    assert server.sim.requests_to("/Users/{userId}") == [] and server.sim.requests_to("/Users") == []

    await set_picks(db, bob, ids[:1])  # Bob's first picks: a new library, which Alice must not see
    created = await run_libraries(media, run_job, lib_settings, server, scope={"user_ids": [bob]})
    assert created["libraries_created"] == 1 and created["policies_updated"] >= 1
    alice_lib, bob_lib = (lib.name for lib in sorted(await server.list_libraries(), key=lambda x: x.name))
    assert bob_lib not in server.visible_libraries(alice) and alice_lib in server.visible_libraries(alice)
    assert server.visible_libraries(bob) == {bob_lib}


async def test_stale_entries_removed_and_gone_picks_leave_an_empty_library(
    media: MediaKind,
    db: asyncpg.Pool,
    run_job: Any,
    lib_settings: Settings,
    media_dir: Path,
    make_server: Any,
) -> None:
    server = await make_server("jellyfin")
    alice = server.add_user("Alice")
    bob = server.add_user("Bob")
    await add_user(db, alice, "Alice")
    await add_user(db, bob, "Bob")
    for m in ("m001", "m002", "m003"):
        await add_movie(db, media_dir, m, f"Film {m}")
    await set_picks(db, alice, ["m001", "m002", "m003"])
    await set_picks(db, bob, ["m001"])
    await run_libraries(media, run_job, lib_settings, server)

    await set_picks(db, alice, ["m001", "m002"])
    await set_picks(db, bob, [])
    result = await run_libraries(media, run_job, lib_settings, server)

    assert result["entries_removed"] == 2
    assert sorted(p.name for p in user_folder(media, lib_settings, "Alice").iterdir()) == [
        "Film m001 (2000)",
        "Film m002 (2000)",
    ]
    bob_dir = user_folder(media, lib_settings, "Bob")
    assert bob_dir.is_dir() and list(bob_dir.iterdir()) == []
    assert any(lib.name.endswith("(Bob)") for lib in await server.list_libraries())
    assert await db.fetchval("SELECT entries FROM user_libraries WHERE user_id = $1", bob) == 0


async def test_user_no_longer_enabled_gets_an_empty_library(
    media: MediaKind, db: asyncpg.Pool, run_job: Any, lib_settings: Settings, media_dir: Path
) -> None:
    await add_user(db, "u1", "Dora")
    await add_movie(db, media_dir, "m001", "Film")
    await set_picks(db, "u1", ["m001"])
    await run_libraries(media, run_job, lib_settings, None)
    assert len(list(user_folder(media, lib_settings, "Dora").iterdir())) == 1
    await db.execute("UPDATE media_users SET enabled = false WHERE id = 'u1'")
    result = await run_libraries(media, run_job, lib_settings, None)
    assert result["entries_removed"] == 1
    assert list(user_folder(media, lib_settings, "Dora").iterdir()) == []


async def test_enabled_user_without_picks_gets_no_folder(
    media: MediaKind, db: asyncpg.Pool, run_job: Any, lib_settings: Settings
) -> None:
    await add_user(db, "u1", "Newcomer")
    result = await run_libraries(media, run_job, lib_settings, None)
    assert result["users_skipped"] == 1 and result["users"] == 0
    assert not (lib_settings.resolved_library_root / "users" / "Newcomer").exists()


async def test_strm_mode_with_stream_url_and_with_server_path(
    media: MediaKind, db: asyncpg.Pool, run_job: Any, lib_settings: Settings, media_dir: Path
) -> None:
    await add_user(db, "u1", "Eve")
    server_path = await add_movie(db, media_dir, "m042", "Answer", 1984)
    await set_picks(db, "u1", ["m042"])
    url_settings = lib_settings.model_copy(
        update={
            "library_mode": "strm",
            "strm_url_template": "http://jellyfin:8096/Videos/{item_id}/stream?static=true&ApiKey={api_key}",
            "media_server_api_key": "k3y",
        }
    )
    from pydantic import SecretStr

    url_settings = url_settings.model_copy(update={"media_server_api_key": SecretStr("k3y")})
    await run_libraries(media, run_job, url_settings, None)
    entry = user_folder(media, lib_settings, "Eve") / "Answer (1984)"
    assert sorted(p.name for p in entry.iterdir()) == ["Answer (1984).nfo", "Answer (1984).strm"]
    strm = entry / "Answer (1984).strm"
    assert not strm.is_symlink()
    assert strm.read_text().splitlines() == ["http://jellyfin:8096/Videos/m042/stream?static=true&ApiKey=k3y"]

    path_settings = lib_settings.model_copy(update={"library_mode": "strm", "strm_url_template": None})
    result = await run_libraries(media, run_job, path_settings, None)
    assert result["entries_written"] == 1 and result["files_written"] == 1  # the NFO is unchanged
    assert strm.read_text().splitlines() == [server_path]

    link_result = await run_libraries(media, run_job, lib_settings, None)  # back to symlinks
    assert link_result["entries_written"] == 1
    assert sorted(p.name for p in entry.iterdir()) == ["Answer (1984).mkv", "Answer (1984).nfo"]


async def test_hostile_titles_stay_inside_the_user_folder(
    media: MediaKind, db: asyncpg.Pool, run_job: Any, lib_settings: Settings, media_dir: Path
) -> None:
    await add_user(db, "u1", "../../Mallory/")
    titles = {
        "m001": "AC/DC: Let There Be Rock",
        "m002": "..",
        "m003": '"Quoted" <title> | what?',
        "m004": "Émilie 🎬 千と千尋",
        "m005": "Very long " * 60,
        "m006": "../../../../etc/passwd",
    }
    for m, title in titles.items():
        await add_movie(db, media_dir, m, title)
    await set_picks(db, "u1", list(titles))
    result = await run_libraries(media, run_job, lib_settings, None)
    assert result["entries_written"] == 6 and result["failed"] == 0

    root = lib_settings.resolved_library_root.resolve()
    users = list((root / "users").iterdir())
    assert [u.name for u in users] == ["Mallory"]
    folder = users[0] / "ai-movies"
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == 6
    assert "Émilie 🎬 千と千尋 (2000)" in names
    assert "AC-DC - Let There Be Rock (2000)" in names
    for path in root.rglob("*"):
        assert path.resolve(strict=False).is_relative_to(root) or path.is_symlink()
        assert len(path.name.encode()) <= 200
    assert {p.name for p in root.iterdir()} == {"users"}
    for entry in folder.iterdir():
        nfos = list(entry.glob("*.nfo"))
        assert len(nfos) == 1
        ET.parse(nfos[0])


async def test_missing_file_is_skipped_and_ranks_stay_consecutive(
    media: MediaKind, db: asyncpg.Pool, run_job: Any, lib_settings: Settings, media_dir: Path
) -> None:
    await add_user(db, "u1", "Finn")
    for m in ("m001", "m002", "m003"):
        await add_movie(db, media_dir, m, f"Film {m}")
    (media_dir / "movies" / "m002.mkv").unlink()
    await set_picks(db, "u1", ["m001", "m002", "m003"])
    result = await run_libraries(media, run_job, lib_settings, None)
    assert result["picks_skipped"] == 1
    finn = user_folder(media, lib_settings, "Finn")
    assert sorted(p.name for p in finn.iterdir()) == ["Film m001 (2000)", "Film m003 (2000)"]
    nfo = ET.parse(finn / "Film m003 (2000)" / "Film m003 (2000).nfo").getroot()
    assert nfo.findtext("sorttitle") == "02 Film m003"
    logs = await db.fetch("SELECT message FROM job_run_logs WHERE level = 'warning'")
    assert any("SIDECAR_PATH_MAPPINGS" in r["message"] for r in logs)


async def test_library_deleted_on_the_server_is_recreated(
    media: MediaKind,
    db: asyncpg.Pool,
    run_job: Any,
    lib_settings: Settings,
    media_dir: Path,
    make_server: Any,
) -> None:
    server = await make_server("emby")
    alice = server.add_user("Alice")
    await add_user(db, alice, "Alice")
    await add_movie(db, media_dir, "m001", "Film")
    await set_picks(db, alice, ["m001"])
    await run_libraries(media, run_job, lib_settings, server)
    name = "AI Picks – Movies (Alice)"
    old_id = await db.fetchval("SELECT library_id FROM user_libraries WHERE user_id = $1", alice)
    server.delete_library(name)
    server.clear_refreshed()

    result = await run_libraries(media, run_job, lib_settings, server)

    assert result["libraries_created"] == 1 and result["libraries_recreated"] == 1
    libs = [lib for lib in await server.list_libraries() if lib.name == name]
    assert len(libs) == 1 and libs[0].id != old_id  # same name, not "Name2"
    assert await db.fetchval("SELECT library_id FROM user_libraries WHERE user_id = $1", alice) == libs[0].id
    assert server.refreshed == [libs[0].item_id]
    assert server.visible_libraries(alice) == {name}


async def test_existing_library_with_our_name_is_adopted_not_duplicated(
    media: MediaKind,
    db: asyncpg.Pool,
    run_job: Any,
    lib_settings: Settings,
    media_dir: Path,
    make_server: Any,
) -> None:
    server = await make_server("jellyfin")
    alice = server.add_user("Alice")
    await add_user(db, alice, "Alice")
    await add_movie(db, media_dir, "m001", "Film")
    await set_picks(db, alice, ["m001"])
    (lib_settings.resolved_library_root / "users" / "Alice" / "ai-movies").mkdir(parents=True)
    existing = server.add_library("AI Picks – Movies (Alice)", f"{SERVER_ROOT}/users/Alice/ai-movies")
    result = await run_libraries(media, run_job, lib_settings, server)
    assert result["libraries_created"] == 0
    assert [lib.name for lib in await server.list_libraries()] == ["AI Picks – Movies (Alice)"]
    assert await db.fetchval("SELECT library_id FROM user_libraries") == existing.id


async def test_one_users_failure_is_counted_and_the_others_go_on(
    media: MediaKind,
    db: asyncpg.Pool,
    run_job: Any,
    lib_settings: Settings,
    media_dir: Path,
    make_server: Any,
) -> None:
    server = await make_server("jellyfin")
    alice = server.add_user("Alice")
    bob = server.add_user("Bob")
    server.add_library("AI Picks – Movies (Alice)", "/media/someone-elses")  # name taken, other folder
    await add_user(db, alice, "Alice")
    await add_user(db, bob, "Bob")
    await add_movie(db, media_dir, "m001", "Film")
    await set_picks(db, alice, ["m001"])
    await set_picks(db, bob, ["m001"])
    row = await run_job_on(media, run_job, lib_settings, server)
    assert row["status"] == "completed"
    assert row["result"]["failed"] == 1 and row["result"]["libraries_created"] == 1
    assert row["items_failed"] == 1 and row["items_processed"] == 2
    assert server.created == ["AI Picks – Movies (Bob)"]
    logs = await db.fetch(
        "SELECT message FROM job_run_logs WHERE run_id = $1 AND level = 'warning'", row["id"]
    )
    assert any("SIDECAR_LIBRARY_NAME_TEMPLATE" in r["message"] for r in logs)


async def test_scoped_run_touches_only_those_users(
    media: MediaKind, db: asyncpg.Pool, run_job: Any, lib_settings: Settings, media_dir: Path
) -> None:
    await add_user(db, "u1", "Gil")
    await add_user(db, "u2", "Hana")
    await add_movie(db, media_dir, "m001", "Film")
    await set_picks(db, "u1", ["m001"])
    await set_picks(db, "u2", ["m001"])
    result = await run_libraries(media, run_job, lib_settings, None, scope={"user_ids": ["u2"]})
    assert result["users"] == 1
    assert user_folder(media, lib_settings, "Hana").is_dir()
    assert not (lib_settings.resolved_library_root / "users" / "Gil").exists()


async def test_two_users_with_the_same_folder_name_get_distinct_folders(
    media: MediaKind, db: asyncpg.Pool, run_job: Any, lib_settings: Settings, media_dir: Path
) -> None:
    await add_user(db, "aaaa0001", "Sam/Max")
    await add_user(db, "bbbb0002", "Sam:Max")
    await add_movie(db, media_dir, "m001", "Film")
    await set_picks(db, "aaaa0001", ["m001"])
    await set_picks(db, "bbbb0002", ["m001"])
    await run_libraries(media, run_job, lib_settings, None)
    folders = sorted(p.name for p in (lib_settings.resolved_library_root / "users").iterdir())
    assert folders == ["Sam - Max", "Sam-Max"]
    # and names stay put on the next run even when someone new takes a colliding name
    await add_user(db, "cccc0003", "sam-max")
    await set_picks(db, "cccc0003", ["m001"])
    await run_libraries(media, run_job, lib_settings, None)
    folders = sorted(p.name for p in (lib_settings.resolved_library_root / "users").iterdir())
    assert folders == ["Sam - Max", "Sam-Max", "sam-max-cccc0003"]


async def test_unwritable_root_fails_with_a_clear_error(
    media: MediaKind, db: asyncpg.Pool, run_job: Any, lib_settings: Settings, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the root should be")
    bad = lib_settings.model_copy(update={"library_root": blocker / "libraries"})
    row = await run_job(media.job(Step.LIBRARIES), settings=bad, resources=JobResources())
    assert row["status"] == "failed"
    assert "SIDECAR_LIBRARY_ROOT" in row["error"] and str(blocker / "libraries") in row["error"]


async def test_cancel_between_users_still_hides_a_new_library_from_others(
    media: MediaKind,
    db: asyncpg.Pool,
    run_job: Any,
    lib_settings: Settings,
    media_dir: Path,
    make_server: Any,
) -> None:
    class CancelAfterFirstScan(MediaServerSimulator):
        async def refresh_item(self, request: Any) -> Any:
            response = await super().refresh_item(request)
            await db.execute("UPDATE job_runs SET cancel_requested = true WHERE status = 'running'")
            await asyncio.sleep(1.0)  # the executor's watcher polls every 0.5 s
            return response

    server = await make_server("jellyfin", simulator=CancelAfterFirstScan)
    alice = server.add_user("Alice", user_id="a" * 32)
    bob = server.add_user("Bob", user_id="b" * 32)
    carol = server.add_user("Carol", enable_all_folders=True)
    await add_user(db, alice, "Alice")
    await add_user(db, bob, "Bob")
    await add_movie(db, media_dir, "m001", "Film")
    await set_picks(db, alice, ["m001"])
    await set_picks(db, bob, ["m001"])

    row = await run_job_on(media, run_job, lib_settings, server)

    assert row["status"] == "cancelled"
    assert server.created == ["AI Picks – Movies (Alice)"]  # users run in id order: alice first
    assert not (lib_settings.resolved_library_root / "users" / "Bob").exists()
    assert server.visible_libraries(carol) == set()
    assert server.visible_libraries(bob) == set()
    assert server.visible_libraries(alice) == {"AI Picks – Movies (Alice)"}


async def test_item_scope_syncs_the_users_whose_picks_hold_those_movies(
    media: MediaKind, db: asyncpg.Pool, run_job: Any, lib_settings: Settings, media_dir: Path
) -> None:
    await add_user(db, "u1", "Ivy")
    await add_user(db, "u2", "Jon")
    await add_movie(db, media_dir, "m001", "One")
    await add_movie(db, media_dir, "m002", "Two")
    await set_picks(db, "u1", ["m001"])
    await set_picks(db, "u2", ["m002"])
    result = await run_libraries(media, run_job, lib_settings, None, scope={"item_ids": ["m002"]})
    assert result["users"] == 1
    assert user_folder(media, lib_settings, "Jon").is_dir()
    assert not (lib_settings.resolved_library_root / "users" / "Ivy").exists()


async def test_disabled_users_deleted_library_is_not_recreated(
    media: MediaKind,
    db: asyncpg.Pool,
    run_job: Any,
    lib_settings: Settings,
    media_dir: Path,
    make_server: Any,
) -> None:
    server = await make_server("jellyfin")
    kim = server.add_user("Kim")
    await add_user(db, kim, "Kim")
    await add_movie(db, media_dir, "m001", "One")
    await set_picks(db, kim, ["m001"])
    await run_libraries(media, run_job, lib_settings, server)
    await db.execute("UPDATE media_users SET enabled = false")
    server.delete_library("AI Picks – Movies (Kim)")
    result = await run_libraries(media, run_job, lib_settings, server)
    assert result["libraries_created"] == 0 and result["entries_removed"] == 1
    assert await server.list_libraries() == []


async def test_library_path_unknown_to_the_server_names_the_setting(
    media: MediaKind,
    db: asyncpg.Pool,
    run_job: Any,
    lib_settings: Settings,
    media_dir: Path,
    make_server: Any,
) -> None:
    server = await make_server("jellyfin", root_visible=False)  # the host cannot see /srv/ai-picks at all
    lou = server.add_user("Lou")
    await add_user(db, lou, "Lou")
    await add_movie(db, media_dir, "m001", "One")
    await set_picks(db, lou, ["m001"])
    row = await run_job_on(media, run_job, lib_settings, server)
    assert row["status"] == "completed" and row["result"]["failed"] == 1
    assert user_folder(media, lib_settings, "Lou").is_dir()  # the folder is written all the same
    logs = await db.fetch(
        "SELECT message FROM job_run_logs WHERE run_id = $1 AND level = 'warning'", row["id"]
    )
    assert any("SIDECAR_LIBRARY_SERVER_ROOT" in r["message"] for r in logs)


async def test_rejected_api_key_fails_the_run_at_once(
    media: MediaKind,
    db: asyncpg.Pool,
    run_job: Any,
    lib_settings: Settings,
    media_dir: Path,
    make_server: Any,
) -> None:
    server = await make_server("jellyfin")
    server.sim.faults.add(Fault(r"/Library/VirtualFolders", status=401, method="POST", times=None))
    for user_id, name in (("u1", "Max"), ("u2", "Nia")):
        await add_user(db, user_id, name)
    await add_movie(db, media_dir, "m001", "One")
    await set_picks(db, "u1", ["m001"])
    await set_picks(db, "u2", ["m001"])
    row = await run_job_on(media, run_job, lib_settings, server)
    assert row["status"] == "failed"
    assert "SIDECAR_MEDIA_SERVER_API_KEY" in row["error"]
    assert row["items_processed"] == 0  # stopped at the first user, not once per user


@pytest.mark.parametrize("kind", ["jellyfin", "emby"])
async def test_visibility_pass_reads_policies_from_the_user_listing(
    media: MediaKind,
    db: asyncpg.Pool,
    run_job: Any,
    lib_settings: Settings,
    media_dir: Path,
    kind: ServerKind,
    make_server: Any,
) -> None:
    """Both servers list each user with their policy: no GET /Users/{id} per server user, which a
    webhook's one-user run would otherwise pay for every account on the server."""
    server = await make_server(kind)
    users = [server.add_user(f"Viewer {n}") for n in range(6)]
    await add_user(db, users[0], "Viewer 0")
    await add_movie(db, media_dir, "m001", "Film")
    await set_picks(db, users[0], ["m001"])

    await run_libraries(media, run_job, lib_settings, server, scope={"user_ids": [users[0]]})

    one_user = "/Users/{userId}" if kind == "jellyfin" else "/Users/{Id}"
    assert server.sim.requests_to(one_user, "GET") == []
    # the pass still ran for everyone: the others no longer see the new library
    assert {user_id for user_id, _ in server.policy_writes} == set(users[1:])
