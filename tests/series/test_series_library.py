"""The series library layout on disk: show folders without rank, seasons, one entry per episode in
both modes, diff-based rewrites, and names confined to the library root whatever the titles hold."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest

from sidecar.library.entries import EntryOptions
from sidecar.library.writer import sync_folder
from sidecar.series.library import series_entries

ANCHOR = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _show(series_id: str, rank: int, title: str, episodes: list[dict[str, Any]]) -> dict[str, Any]:
    return {"series_id": series_id, "rank": rank, "title": title, "year": 2020, "original_title": None,
            "overview": "An overview.", "explanation": "Because you watched X.", "genres": ["Drama"],
            "studios": ["AMC"], "status": "Ended", "community_rating": 7.5, "official_rating": "TV-14",
            "tmdb_id": "1", "imdb_id": "tt1", "tvdb_id": "2", "episodes": episodes}  # fmt: skip


def _episode(episode_id: str, season: int, number: int, title: str, path: str | None) -> dict[str, Any]:
    return {"id": episode_id, "season": season, "episode": number, "episode_end": None, "title": title,
            "overview": "Plot.", "aired": "2020-01-01", "runtime_ticks": 600_000_000 * 42, "path": path,
            "tmdb_id": f"t{episode_id}", "imdb_id": None, "tvdb_id": None}  # fmt: skip


def _all_paths(root: Path) -> list[Path]:
    return [p for p in root.rglob("*")]


@pytest.mark.parametrize("mode", ["symlink", "strm"])
def test_layout_in_both_modes(tmp_path: Path, mode: str) -> None:
    rows = [
        _show("s1", 1, "Harbor Lights", [
            _episode("e1", 1, 1, "Pilot", "/media/tv/h/s01e01.mkv"),
            _episode("e2", 1, 2, "Two", "/media/tv/h/s01e02.mkv"),
            _episode("e3", 0, 1, "Special", "/media/tv/h/s00e01.mkv"),
            _episode("e4", 2, 1, "No file", None),
        ]),
        _show("s2", 2, "Empty Show", []),
    ]  # fmt: skip
    built = series_entries(rows, EntryOptions(mode=mode, check_files_exist=False), ANCHOR)  # type: ignore[arg-type]
    assert [e.folder for e in built.entries] == ["Harbor Lights (2020)"]  # no rank in the folder name
    assert [s.item_id for s in built.skipped] == ["s2"]
    names = sorted(f.name for f in built.entries[0].files)
    ext = ".mkv" if mode == "symlink" else ".strm"
    assert names == sorted(
        [
            "tvshow.nfo",
            f"Season 00/Harbor Lights S00E01{ext}",
            "Season 00/Harbor Lights S00E01.nfo",
            f"Season 01/Harbor Lights S01E01{ext}",
            "Season 01/Harbor Lights S01E01.nfo",
            f"Season 01/Harbor Lights S01E02{ext}",
            "Season 01/Harbor Lights S01E02.nfo",
        ]
    )  # fmt: skip  (no placeholder for the episode without a file)
    root = tmp_path / "root"
    folder = root / "users" / "u" / "ai-series"
    folder.mkdir(parents=True)
    first = sync_folder(root, folder, built.entries)
    assert first.written == 1 and first.files_written == len(names)
    again = sync_folder(root, folder, built.entries)
    assert again.files_written == 0 and again.unchanged == 1
    # One episode leaves the server: only its two files go.
    rows[0]["episodes"] = rows[0]["episodes"][1:]
    smaller = series_entries(rows, EntryOptions(mode=mode, check_files_exist=False), ANCHOR)  # type: ignore[arg-type]
    sync_folder(root, folder, smaller.entries)
    show = folder / "Harbor Lights (2020)"
    assert not os.path.lexists(show / "Season 01" / f"Harbor Lights S01E01{ext}")
    assert os.path.lexists(show / "Season 01" / f"Harbor Lights S01E02{ext}")
    if mode == "symlink":
        assert (show / "Season 01" / "Harbor Lights S01E02.mkv").is_symlink()


def test_hostile_titles_stay_inside_the_library_root(tmp_path: Path) -> None:
    hostile = [
        "../../../etc/passwd",
        "..",
        "/abs/olute",
        "a\\b:c*?",
        "\x00nul\x1f",
        ".hidden",
        "Season 01/..",
        "CON",
    ]
    rows = [
        _show(f"s{i}", i + 1, title, [_episode(f"e{i}", 1, 1, title, "/media/tv/x.mkv")])
        for i, title in enumerate(hostile)
    ]
    built = series_entries(rows, EntryOptions(check_files_exist=False), ANCHOR)
    assert len(built.entries) == len(hostile)
    root = tmp_path / "root"
    folder = root / "users" / "u" / "ai-series"
    folder.mkdir(parents=True)
    sync_folder(root, folder, built.entries)
    for path in _all_paths(root):
        assert path.resolve(strict=False).is_relative_to(root.resolve()) or path.is_symlink()
        assert (
            path.parent.resolve().is_relative_to(folder.resolve())
            or path == folder
            or folder.is_relative_to(path)
        )
    assert not (tmp_path / "etc").exists()


def test_a_planted_season_symlink_is_replaced_not_followed(tmp_path: Path) -> None:
    rows = [_show("s1", 1, "Show", [_episode("e1", 1, 1, "Pilot", "/media/tv/x.mkv")])]
    built = series_entries(rows, EntryOptions(check_files_exist=False), ANCHOR)
    root = tmp_path / "root"
    folder = root / "users" / "u" / "ai-series"
    (folder / "Show (2020)").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (folder / "Show (2020)" / "Season 01").symlink_to(outside)
    sync_folder(root, folder, built.entries)
    assert list(outside.iterdir()) == []
    assert not (folder / "Show (2020)" / "Season 01").is_symlink()


def test_a_rerank_rewrites_only_the_shows_nfos(tmp_path: Path) -> None:
    """The rank lives in tvshow.nfo; episode NFOs carry the library's fixed date, so two shows that
    swap places cost two files, not every episode NFO of both (a webhook's re-rank stays small)."""
    episodes = {
        sid: [_episode(f"{sid}e{n}", 1, n, f"Ep {n}", f"/media/tv/{sid}/{n}.mkv") for n in range(1, 9)]
        for sid in ("s1", "s2")
    }
    options = EntryOptions(mode="symlink", check_files_exist=False)
    root = tmp_path / "root"
    folder = root / "users" / "u" / "ai-series"
    folder.mkdir(parents=True)
    first = [_show("s1", 1, "First", episodes["s1"]), _show("s2", 2, "Second", episodes["s2"])]
    sync_folder(root, folder, series_entries(first, options, ANCHOR).entries)
    swapped = [_show("s2", 1, "Second", episodes["s2"]), _show("s1", 2, "First", episodes["s1"])]
    stats = sync_folder(root, folder, series_entries(swapped, options, ANCHOR).entries)
    assert stats.written == 2 and stats.files_written == 2  # the two tvshow.nfo files
    assert "<sorttitle>01 - Second</sorttitle>" in (folder / "Second (2020)" / "tvshow.nfo").read_text()
