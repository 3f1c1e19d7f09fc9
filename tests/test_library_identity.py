"""An entry keeps its folder (so the server keeps its item id and the user's resume point) when its
rank changes, and a change of layout renames folders in place instead of rewriting them."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import asyncpg

from sidecar.library.writer import DesiredEntry, EntryFile, sync_folder
from sidecar.movies import MOVIES
from sidecar.settings import Settings
from tests.factory import add_user, set_picks
from tests.fs_snapshot import snapshot
from tests.test_sync_movie_libraries import add_movie, user_folder


async def _run(run_job: Any, settings: Settings) -> dict[str, Any]:
    row = await run_job("sync-movie-libraries", settings=settings)
    assert row["status"] == "completed", row["error"]
    return row["result"]


def _settings(settings: Settings, tmp_path: Path, media: Path, layout: str) -> Settings:
    return settings.model_copy(
        update={
            "library_root": tmp_path / "libraries",
            "path_mappings": {"/media": str(media)},
            "library_entry_names": layout,
        }
    )


async def _three_films_for_ann(db: asyncpg.Pool, settings: Settings, tmp_path: Path) -> tuple[Path, Settings]:
    """User Ann, three films on disk, and settings for the ranked layout."""
    media = tmp_path / "media"
    await add_user(db, "u1", "Ann")
    for m in ("m001", "m002", "m003"):
        await add_movie(db, media, m, f"Film {m}")
    return media, _settings(settings, tmp_path, media, "ranked")


async def test_existing_ranked_folders_are_renamed_in_place_to_the_stable_layout(
    db: asyncpg.Pool, run_job: Any, settings: Settings, tmp_path: Path
) -> None:
    media, ranked = await _three_films_for_ann(db, settings, tmp_path)
    await set_picks(db, "u1", ["m002", "m001", "m003"])
    await _run(run_job, ranked)
    folder = user_folder(MOVIES, ranked, "Ann")
    assert sorted(p.name for p in folder.iterdir()) == [
        "01 - Film m002 (2000)",
        "02 - Film m001 (2000)",
        "03 - Film m003 (2000)",
    ]
    before = snapshot(folder)

    result = await _run(run_job, _settings(settings, tmp_path, media, "title"))

    assert result["entries_moved"] == 3 and result["entries_removed"] == 0
    assert result["files_written"] == 0  # the NFOs carry the rank already: nothing to rewrite
    after = snapshot(folder)
    assert sorted(p for p in after if "/" not in p) == [
        "Film m001 (2000)",
        "Film m002 (2000)",
        "Film m003 (2000)",
    ]
    # the same folders and links (inodes), only renamed
    assert after["Film m002 (2000)"][0] == before["01 - Film m002 (2000)"][0]
    link = "Film m002 (2000)/Film m002 (2000).mkv"
    assert after[link] == before[f"01 - {link}"]


async def test_ranked_layout_renames_on_a_rerank_instead_of_rewriting(
    db: asyncpg.Pool, run_job: Any, settings: Settings, tmp_path: Path
) -> None:
    _, ranked = await _three_films_for_ann(db, settings, tmp_path)
    await set_picks(db, "u1", ["m001", "m002", "m003"])
    await _run(run_job, ranked)
    folder = user_folder(MOVIES, ranked, "Ann")
    before = snapshot(folder)

    await set_picks(db, "u1", ["m002", "m001", "m003"])
    result = await _run(run_job, ranked)

    assert result["entries_moved"] == 2 and result["entries_removed"] == 0
    assert result["files_written"] == 2  # two NFOs with new sort titles; the links are kept
    after = snapshot(folder)
    assert (
        after["01 - Film m002 (2000)/Film m002 (2000).mkv"]
        == before["02 - Film m002 (2000)/Film m002 (2000).mkv"]
    )


async def test_two_picks_with_one_name_get_stable_folders_told_apart_by_their_ids(
    db: asyncpg.Pool, run_job: Any, settings: Settings, tmp_path: Path
) -> None:
    media = tmp_path / "media"
    title = _settings(settings, tmp_path, media, "title")
    await add_user(db, "u1", "Ann")
    await add_movie(db, media, "m001", "Solaris", 2002)
    await add_movie(db, media, "m002", "Solaris", 2002)
    await add_movie(db, media, "m003", "Stalker", 1979)
    await set_picks(db, "u1", ["m001", "m002", "m003"])
    await _run(run_job, title)
    folder = user_folder(MOVIES, title, "Ann")
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["Solaris (2002) [tmdbid-9001]", "Solaris (2002) [tmdbid-9002]", "Stalker (1979)"]

    await set_picks(db, "u1", ["m002", "m003", "m001"])
    result = await _run(run_job, title)
    assert sorted(p.name for p in folder.iterdir()) == names
    assert result["entries_moved"] == 0 and result["entries_removed"] == 0
    nfo = ET.parse(folder / "Solaris (2002) [tmdbid-9002]" / "Solaris (2002).nfo").getroot()
    assert nfo.findtext("sorttitle") == "01 Solaris"


def _entry(folder: str, nfo: str, target: str) -> DesiredEntry:
    return DesiredEntry(
        folder, (EntryFile("A.mkv", link_target=target), EntryFile("A.nfo", content=nfo.encode()))
    )


def test_writer_moves_a_folder_that_holds_the_wanted_video(tmp_path: Path) -> None:
    root = tmp_path / "root"
    folder = root / "u"
    folder.mkdir(parents=True)
    sync_folder(root, folder, [_entry("old name", "<a/>", "/m/a.mkv"), _entry("other", "<b/>", "/m/b.mkv")])
    inode = (folder / "old name").stat().st_ino

    stats = sync_folder(root, folder, [_entry("new name", "<a2/>", "/m/a.mkv")])

    assert (stats.moved, stats.removed, stats.written, stats.files_written) == (1, 1, 1, 1)
    assert sorted(os.listdir(folder)) == ["new name"]
    assert (folder / "new name").stat().st_ino == inode
    assert (folder / "new name" / "A.nfo").read_text() == "<a2/>"
    assert stats.changed
