"""The diffing writer on a real filesystem: only differences are written, nothing leaves the root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sidecar.library import writer
from sidecar.library.paths import UnsafePathError, join_server_path, server_to_local
from sidecar.library.writer import (
    TEMP_PREFIX,
    DesiredEntry,
    EntryFile,
    ensure_directory,
    manifest_hash,
    sync_folder,
)
from tests.fs_snapshot import snapshot


def _entry(folder: str, nfo: str, target: str) -> DesiredEntry:
    base = folder.split(" - ", 1)[1]
    return DesiredEntry(
        folder,
        (EntryFile(f"{base}.mkv", link_target=target), EntryFile(f"{base}.nfo", content=nfo.encode())),
    )


@pytest.fixture
def user_dir(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "root"
    root.mkdir()
    return root, ensure_directory(root, "users", "alice", "ai-movies")


def test_first_write_creates_entries_and_leaves_no_temp_names(user_dir: tuple[Path, Path]) -> None:
    root, folder = user_dir
    entries = [_entry("01 - A (2000)", "<a/>", "/m/a.mkv"), _entry("02 - B (2001)", "<b/>", "/m/b.mkv")]
    stats = sync_folder(root, folder, entries)
    assert (stats.written, stats.unchanged, stats.removed, stats.files_written) == (2, 0, 0, 4)
    assert sorted(p.name for p in folder.iterdir()) == ["01 - A (2000)", "02 - B (2001)"]
    assert os.readlink(folder / "01 - A (2000)" / "A (2000).mkv") == "/m/a.mkv"
    assert (folder / "02 - B (2001)" / "B (2001).nfo").read_text() == "<b/>"
    assert not [p for p in folder.rglob("*") if p.name.startswith(TEMP_PREFIX)]


def test_rerun_without_changes_touches_nothing(user_dir: tuple[Path, Path]) -> None:
    root, folder = user_dir
    entries = [_entry(f"{i:02d} - M{i} (2000)", f"<m{i}/>", f"/m/{i}.mkv") for i in range(1, 6)]
    sync_folder(root, folder, entries)
    before = snapshot(folder)
    stats = sync_folder(root, folder, entries)
    assert (stats.written, stats.unchanged, stats.removed, stats.files_written) == (0, 5, 0, 0)
    assert snapshot(folder) == before


def test_changed_nfo_is_replaced_alone_and_stale_entry_removed(user_dir: tuple[Path, Path]) -> None:
    root, folder = user_dir
    first = [_entry(f"{i:02d} - M{i} (2000)", f"<m{i}/>", f"/m/{i}.mkv") for i in range(1, 4)]
    sync_folder(root, folder, first)
    before = snapshot(folder)
    second = [first[0], _entry("02 - M2 (2000)", "<m2 changed='1'/>", "/m/2.mkv")]
    stats = sync_folder(root, folder, second)
    assert (stats.written, stats.unchanged, stats.removed, stats.files_written) == (1, 1, 1, 1)
    after = snapshot(folder)
    assert not (folder / "03 - M3 (2000)").exists()
    for path, state in before.items():
        if path.startswith("01 - ") or (path.endswith(".mkv") and path.startswith("02 - ")):
            assert after[path] == state, path  # untouched: same inode and mtime
    assert after["02 - M2 (2000)/M2 (2000).nfo"][0] != before["02 - M2 (2000)/M2 (2000).nfo"][0]
    assert (folder / "02 - M2 (2000)" / "M2 (2000).nfo").read_text() == "<m2 changed='1'/>"


def test_hand_edits_and_leftovers_are_repaired(user_dir: tuple[Path, Path]) -> None:
    root, folder = user_dir
    entries = [_entry("01 - A (2000)", "<a/>", "/m/a.mkv")]
    sync_folder(root, folder, entries)
    (folder / "01 - A (2000)" / "A (2000).nfo").write_text("edited")
    (folder / "01 - A (2000)" / "extra.txt").write_text("x")
    (folder / f"{TEMP_PREFIX}crashed").mkdir()
    (folder / "random file.mkv").write_text("not ours")
    (folder / ".hidden").write_text("left alone")
    stats = sync_folder(root, folder, entries)
    assert (stats.written, stats.removed) == (1, 1)
    assert sorted(p.name for p in folder.iterdir()) == [".hidden", "01 - A (2000)"]
    assert sorted(p.name for p in (folder / "01 - A (2000)").iterdir()) == ["A (2000).mkv", "A (2000).nfo"]
    assert (folder / "01 - A (2000)" / "A (2000).nfo").read_text() == "<a/>"


def test_stale_symlink_to_a_directory_is_unlinked_not_followed(
    user_dir: tuple[Path, Path], tmp_path: Path
) -> None:
    root, folder = user_dir
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text("keep")
    (folder / "01 - Evil (2000)").symlink_to(precious, target_is_directory=True)
    sync_folder(root, folder, [])
    assert (precious / "keep.txt").read_text() == "keep"
    assert list(folder.iterdir()) == []


def test_symlinked_user_folder_escaping_the_root_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    (root / "users").mkdir(parents=True)
    outside.mkdir()
    (root / "users" / "mallory").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePathError):
        ensure_directory(root, "users", "mallory", "ai-movies")
    with pytest.raises(UnsafePathError):
        sync_folder(root, root / "users" / "mallory", [])
    assert list(outside.iterdir()) == []


def test_unsafe_names_are_refused() -> None:
    for bad in ("..", ".", "a/b", "a\\b", "", f"{TEMP_PREFIX}x"):
        with pytest.raises(UnsafePathError):
            DesiredEntry(bad, ())
    # An entry's file may sit in one subfolder (a show's season), each part a plain component.
    for bad in ("..", ".", "a/b/c", "../b", "a/..", "/b", "a/", "a\\b", "", f"a/{TEMP_PREFIX}x"):
        with pytest.raises(UnsafePathError):
            EntryFile(bad, content=b"")
    assert EntryFile("Season 01/a.nfo", content=b"").name == "Season 01/a.nfo"


def test_manifest_hash_changes_with_any_byte() -> None:
    a = [_entry("01 - A (2000)", "<a/>", "/m/a.mkv")]
    b = [_entry("01 - A (2000)", "<a />", "/m/a.mkv")]
    assert manifest_hash(a) == manifest_hash(list(a))
    assert manifest_hash(a) != manifest_hash(b)


def test_path_mapping_uses_the_longest_whole_component_prefix() -> None:
    mappings = {"/media": "/mnt/nas", "/media/movies": "/data/films", "C:\\Movies": "/win"}
    assert server_to_local("/media/movies/A/a.mkv", mappings) == "/data/films/A/a.mkv"
    assert server_to_local("/media/tv/x.mkv", mappings) == "/mnt/nas/tv/x.mkv"
    assert server_to_local("/mediax/x.mkv", mappings) == "/mediax/x.mkv"
    assert server_to_local("C:\\Movies\\A\\a.mkv", mappings) == "/win/A/a.mkv"
    assert join_server_path("/srv/lib/", "users", "bob") == "/srv/lib/users/bob"
    assert join_server_path("D:\\lib", "users", "bob") == "D:\\lib\\users\\bob"


def test_stale_entries_go_after_the_new_ones_are_in_place(
    user_dir: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scan during the run sees the old entries plus the new ones, never a shorter list (and the
    new files are not allocated among inodes freed a moment before)."""
    root, folder = user_dir
    sync_folder(root, folder, [_entry("01 - A (2000)", "<a/>", "/m/a.mkv")])
    listing_at_removal: list[tuple[str, list[str]]] = []
    remove = writer._remove

    def observed(path: Path) -> None:
        listing_at_removal.append((path.name, sorted(p.name for p in folder.iterdir())))
        remove(path)

    monkeypatch.setattr(writer, "_remove", observed)
    new = [_entry("01 - B (2001)", "<b/>", "/m/b.mkv"), _entry("02 - C (2002)", "<c/>", "/m/c.mkv")]
    stats = sync_folder(root, folder, new)

    assert (stats.written, stats.removed) == (2, 1)
    assert listing_at_removal == [("01 - A (2000)", ["01 - A (2000)", "01 - B (2001)", "02 - C (2002)"])]
    assert sorted(p.name for p in folder.iterdir()) == ["01 - B (2001)", "02 - C (2002)"]


def test_a_stale_entry_whose_name_differs_only_in_case_goes_first(user_dir: tuple[Path, Path]) -> None:
    """On a case-insensitive share the new folder would be the stale one: that one is removed first."""
    root, folder = user_dir
    sync_folder(root, folder, [_entry("01 - Alien (1979)", "<a/>", "/m/a.mkv")])
    stats = sync_folder(root, folder, [_entry("01 - ALIEN (1979)", "<A/>", "/m/a2.mkv")])
    assert (stats.written, stats.removed) == (1, 1)
    assert [p.name for p in folder.iterdir()] == ["01 - ALIEN (1979)"]
