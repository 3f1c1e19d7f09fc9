"""What the sidecar writes to the media server when it registers AI Picks libraries (issue #13 points
2, 3 and 7), against the simulator over HTTP in both dialects:

* no full-library scans: libraries are created and linked with refreshLibrary=false, and only the
  libraries that changed are refreshed, once each per run;
* a create whose answer was lost is not repeated blindly: exactly one library, one folder;
* the library options switch off remote metadata, images, chapter images, trickplay and NFO saving.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import pytest

from sidecar.library.names import server_library_name
from sidecar.mediaserver import open_client
from sidecar.mediaserver.library_options import ai_library_options
from sidecar.settings import Settings
from sidecar.simulator import running_simulator
from sidecar.simulator.app import _NAME_12, jellyfin_valid_filename
from tests.factory import add_user, set_picks
from tests.mediaserver.openapi_check import load_spec, validate
from tests.simhelpers import settings_for
from tests.test_sync_movie_libraries import add_movie

KINDS = ["jellyfin", "emby"]


async def _users_with_one_pick(
    db: asyncpg.Pool, sim: Any, settings: Settings, tmp_path: Path, users: list[Any]
) -> Settings:
    """Each of these server users is a sidecar user whose one pick is movie m001; the run settings."""
    media = tmp_path / "media"
    await add_movie(db, media, "m001", "First Pick")
    for user in users:
        await add_user(db, user.id, user.name)
        await set_picks(db, user.id, ["m001"])
    return settings_for(
        settings, sim, library_root=tmp_path / "libraries", path_mappings={"/media": str(media)}
    )


@pytest.mark.parametrize("kind", KINDS)
async def test_a_first_run_over_100_users_restarts_no_full_scan(
    kind: str, db: asyncpg.Pool, settings: Settings, tmp_path: Path, run_job: Any
) -> None:
    media = tmp_path / "media"
    async with running_simulator(kind, seed="sample") as sim:
        await add_movie(db, media, "m002", "Second Pick")
        users = [sim.state.add_user(f"user{n:03d}") for n in range(100)]
        run_settings = await _users_with_one_pick(db, sim, settings, tmp_path, users)
        before = {lib.item_id for lib in sim.state.libraries}

        first = await run_job("sync-movie-libraries", settings=run_settings)
        await sim.state.settle()

        assert first["status"] == "completed", first["error"]
        ours = [lib for lib in sim.state.libraries if lib.item_id not in before]
        assert len(ours) == 100 and first["result"]["libraries_created"] == 100
        assert sim.state.library_scans == []  # 0 restarts of the full "Scan Media Library" task
        refreshed = [r["item_id"] for r in sim.state.refresh_requests]
        assert sorted(refreshed) == sorted(lib.item_id for lib in ours)  # each new library once
        # The refreshes ran after their answers, as on the server: every library holds its copy.
        copies = [m for m in sim.state.movies.values() if m.library_id in {lib.item_id for lib in ours}]
        assert len(copies) == 100

        # A later run where one user's picks changed refreshes that user's library only.
        await set_picks(db, users[7].id, ["m002", "m001"])
        sim.state.refresh_requests.clear()
        second = await run_job("sync-movie-libraries", settings=run_settings)
        assert second["status"] == "completed", second["error"]
        own = next(lib for lib in ours if lib.locations[0].split("/")[-2] == "user007")
        assert [r["item_id"] for r in sim.state.refresh_requests] == [own.item_id]
        assert sim.state.library_scans == []


async def _client(sim: Any, settings: Settings, **overrides: Any) -> Any:
    return await open_client(
        settings_for(settings, sim, media_server_timeout_seconds=0.5, media_server_retries=2, **overrides)
    )


async def _create(sim: Any, settings: Settings, folder: Path) -> Any:
    """Create alice's library through a fresh client (the faults are set up by the caller)."""
    client = await _client(sim, settings)
    try:
        return await client.create_library("AI Picks - Movies (alice)", str(folder))
    finally:
        await client.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "alice").mkdir()
    return tmp_path / "alice"


@pytest.mark.parametrize("kind", KINDS)
async def test_a_create_whose_answer_was_lost_makes_exactly_one_library(
    kind: str, settings: Settings, folder: Path
) -> None:
    async with running_simulator(kind, seed="sample") as sim:
        sim.faults.lose_answer("/Library/VirtualFolders", seconds=5)
        library = await _create(sim, settings, folder)
        named = [lib for lib in sim.state.libraries if lib.name.startswith("AI Picks - Movies (alice)")]
        assert [lib.name for lib in named] == ["AI Picks - Movies (alice)"]
        assert named[0].locations == [str(folder)] and library.item_id == named[0].item_id
        assert len(sim.requests_to("/Library/VirtualFolders", "POST")) == 1


@pytest.mark.parametrize("kind", KINDS)
async def test_a_failed_create_that_made_nothing_is_made_once_more(
    kind: str, settings: Settings, folder: Path
) -> None:
    async with running_simulator(kind, seed="sample") as sim:
        sim.faults.fail("/Library/VirtualFolders", status=503)  # refused before doing anything
        sim.faults.rules[-1].method = "POST"
        await _create(sim, settings, folder)
        named = [lib for lib in sim.state.libraries if lib.name.startswith("AI Picks - Movies (alice)")]
        assert len(named) == 1 and named[0].locations == [str(folder)]


@pytest.mark.parametrize("kind", KINDS)
async def test_an_add_path_whose_answer_was_lost_links_the_folder_once(
    kind: str, settings: Settings, folder: Path, tmp_path: Path
) -> None:
    more = tmp_path / "alice-more"
    more.mkdir()
    async with running_simulator(kind, seed="sample") as sim:
        client = await _client(sim, settings)
        try:
            library = await client.create_library("AI Picks - Movies (alice)", str(folder))
            sim.faults.lose_answer("/Library/VirtualFolders/Paths", seconds=5)
            # The simulator dedupes a folder; count the requests that reached it instead.
            await client.add_library_path(library, str(more))
        finally:
            await client.close()
        assert sim.state.library(library.item_id).locations == [str(folder), str(more)]
        assert len(sim.requests_to("/Library/VirtualFolders/Paths", "POST")) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_ai_library_options_are_complete_and_valid_for_the_servers_schema(kind: str) -> None:
    options = ai_library_options(kind, "/srv/ai-picks/users/alice/ai-movies")  # type: ignore[arg-type]
    schema = load_spec(kind)["components"]["schemas"]["LibraryOptions"]
    validate(kind, schema, options)
    assert options["PathInfos"] == [{"Path": "/srv/ai-picks/users/alice/ai-movies"}]
    movie = next(t for t in options["TypeOptions"] if t["Type"] == "Movie")
    assert movie["MetadataFetchers"] == [] and movie["ImageFetchers"] == []
    assert options["SaveLocalMetadata"] is False and options["MetadataSavers"] == []
    assert options["EnableChapterImageExtraction"] is False
    assert options["ExtractChapterImagesDuringLibraryScan"] is False
    if kind == "jellyfin":
        assert options["EnableTrickplayImageExtraction"] is False
        assert options["ExtractTrickplayImagesDuringLibraryScan"] is False
    else:
        assert options["EnableMarkerDetection"] is False


@pytest.mark.parametrize("kind", KINDS)
async def test_libraries_are_created_with_those_options_and_without_a_scan(
    kind: str, settings: Settings, folder: Path
) -> None:
    async with running_simulator(kind, seed="sample") as sim:
        await _create(sim, settings, folder)
        (create,) = sim.requests_to("/Library/VirtualFolders", "POST")
        body = create.body
        query = {k.lower(): v for k, v in create.query}
        if kind == "jellyfin":
            assert query["refreshlibrary"] == "false"
        else:
            assert body["RefreshLibrary"] is False
        assert body["LibraryOptions"] == ai_library_options(kind, str(folder))  # type: ignore[arg-type]
        assert sim.state.library_scans == []


HOSTILE_NAMES = ['Ann: "The/Boss" <1>?', "tab\there", " lead", "trail ", "a|b*c\\d", "bob:", "\x01x\x1f", ":"]


@pytest.mark.parametrize("raw", HOSTILE_NAMES)
def test_library_names_are_ones_the_server_keeps_unchanged(raw: str) -> None:
    name = server_library_name(f"AI Picks – Movies ({raw})")
    assert jellyfin_valid_filename(name.strip()) == name  # what Jellyfin stores is what we sent
    assert _NAME_12.fullmatch(name)  # and 12.0 accepts it
    assert server_library_name(name) == name


@pytest.mark.parametrize(
    ("kind", "version"), [("jellyfin", "10.11.11"), ("jellyfin", "12.0.0"), ("emby", None)]
)
async def test_a_user_with_a_hostile_name_gets_one_library_also_after_the_database_is_lost(
    kind: str, version: str | None, db: asyncpg.Pool, settings: Settings, tmp_path: Path, run_job: Any
) -> None:
    async with running_simulator(kind, seed="sample") as sim:  # type: ignore[arg-type]
        if version is not None:
            sim.state.version = version
        user = sim.state.add_user('Ann: "The/Boss"?')
        run_settings = await _users_with_one_pick(db, sim, settings, tmp_path, [user])
        before = {lib.item_id for lib in sim.state.libraries}
        first = await run_job("sync-movie-libraries", settings=run_settings)
        assert first["status"] == "completed", first["error"]
        # The server forgot nothing, we did: the library is found again by its name.
        await db.execute(
            "UPDATE user_libraries SET library_id = NULL, library_item_id = NULL, library_guid = NULL"
        )
        second = await run_job("sync-movie-libraries", settings=run_settings)
        assert second["status"] == "completed", second["error"]
        ours = [lib.name for lib in sim.state.libraries if lib.item_id not in before]
        assert ours == ["AI Picks – Movies (Ann The Boss )"]  # one library, no "…2"
        recorded = await db.fetchval("SELECT library_name FROM user_libraries WHERE user_id = $1", user.id)
        assert recorded == ours[0]
