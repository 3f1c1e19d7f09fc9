"""Bring one user's library folder to a desired set of entries, touching only what differs.

The desired state is a manifest: entry folder name -> files (bytes or a symlink target). What is on
disk is compared with it straight from the files: each link's target, each file's bytes (read only
up to one byte past the wanted length), so a hand edit or a half-finished earlier run is repaired and
no state file can drift from reality. Then:

* unchanged entry: not touched at all (mtimes and inodes stay, the server sees nothing to rescan);
* new entry: built under a hidden temporary name in the same directory, then renamed into place,
  so the server never scans a half-written folder;
* changed entry (same folder, other bytes): each differing file is written to a temporary name in
  the entry folder and `os.replace`d over the old one; identical files stay as they are;
* stale entry: removed (a symlink entry is unlinked, never followed);
* moved entry (a stale folder holding the video a missing entry wants): renamed into place, then
  updated like a changed entry. The server derives an item's id from its path, so a rename is the
  one change that costs the user their resume point; the layout avoids renames (no rank in folder
  names) and this keeps a layout change (or a re-rank in the ranked layout) from rewriting files.

Files are not fsynced: a crash can at worst leave a temporary name or an old file, and the next run
repairs both. Every path is checked to stay inside the library root before anything is written. A new
entry is made with calls relative to its open (hidden) folder: a show is a few hundred files, and
resolving each one's full path again cost more than creating it.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sidecar.library.paths import UnsafePathError, confined

TEMP_PREFIX = ".aipicks-tmp-"


def check_component(name: str) -> str:
    """Refuse anything that is not one plain path component (defence behind `sanitize_component`)."""
    if (
        not name
        or name in (".", "..")
        or "/" in name
        or "\\" in name
        or "\0" in name
        or name.startswith(TEMP_PREFIX)
        or len(name.encode("utf-8")) > 255
    ):
        raise UnsafePathError(f"refusing unsafe file name {name!r}")
    return name


MAX_ENTRY_DEPTH = 2  # an entry's file may sit in one subfolder (a show's `Season 01/`)


@dataclass(frozen=True)
class EntryFile:
    """One file of an entry: regular file `content`, or a symlink to `link_target`. `name` is one
    component, or `subfolder/name` (each part checked) for kinds whose entries hold folders."""

    name: str
    content: bytes | None = None
    link_target: str | None = None

    def __post_init__(self) -> None:
        parts = self.name.split("/")
        if len(parts) > MAX_ENTRY_DEPTH:
            raise UnsafePathError(f"refusing nested file name {self.name!r}")
        for part in parts:
            check_component(part)
        if (self.content is None) == (self.link_target is None):
            raise ValueError(f"{self.name}: give exactly one of content and link_target")

    def digest(self) -> str:
        if self.link_target is not None:
            return f"L\0{self.name}\0{self.link_target}"
        assert self.content is not None
        return f"F\0{self.name}\0{hashlib.sha256(self.content).hexdigest()}"


@dataclass(frozen=True)
class DesiredEntry:
    folder: str
    files: tuple[EntryFile, ...]  # the first is the playable one: it names the entry wherever it moves

    def __post_init__(self) -> None:
        check_component(self.folder)
        names = [f.name for f in self.files]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.folder}: two files share a name")

    @functools.cached_property
    def content_hash(self) -> str:
        return _hash_digests(f.digest() for f in self.files)


@dataclass
class FolderStats:
    written: int = 0  # entries created or changed
    unchanged: int = 0
    removed: int = 0
    moved: int = 0  # renamed into place (layout change, or a re-rank in the ranked layout)
    files_written: int = 0

    @property
    def changed(self) -> bool:
        return self.written > 0 or self.removed > 0 or self.moved > 0


def _hash_digests(digests: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(digests)).encode("utf-8", "surrogateescape")).hexdigest()


def manifest_hash(entries: Sequence[DesiredEntry]) -> str:
    """One hash for a whole library state (stored per user; equal hashes = equal folders)."""
    return _hash_digests(f"{e.folder}\0{e.content_hash}" for e in entries)


def ensure_directory(root: Path, *parts: str) -> Path:
    """mkdir `root/parts...` one component at a time, checking after each that it is still inside
    `root` (a pre-planted symlink to elsewhere is refused, not followed). Returns the resolved path."""
    current = root.resolve()
    for part in parts:
        check_component(part)
        candidate = current / part
        candidate.mkdir(exist_ok=True)
        current = confined(root, candidate)
        if not current.is_dir():
            raise UnsafePathError(f"{candidate} is not a directory")
    return current


_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class _OnDisk:
    """What one name in an entry folder is: a symlink (with its target), a regular file, or anything
    else (a folder or device where a file belongs: never equal to a wanted file)."""

    kind: str  # "link", "file" or "other"
    path: str
    link_target: str | None = None


def _holds(found: _OnDisk | None, spec: EntryFile) -> bool:
    """Whether `found` is exactly `spec`: the same link target, or the same bytes."""
    if found is None:
        return False
    if spec.link_target is not None:
        return found.kind == "link" and found.link_target == spec.link_target
    assert spec.content is not None
    if found.kind != "file":
        return False
    try:
        with open(found.path, "rb") as handle:  # one byte more than wanted tells a longer file apart
            return handle.read(len(spec.content) + 1) == spec.content
    except OSError:
        return False


def _disk_files(folder: Path, prefix: str = "") -> dict[str, _OnDisk]:
    """name (or `subfolder/name`) -> what an entry folder holds, one subfolder level deep (never
    through a symlink), clearing leftovers of interrupted writes."""
    found: dict[str, _OnDisk] = {}
    with os.scandir(folder) as scan:
        for item in scan:
            if item.name.startswith(TEMP_PREFIX):
                _remove(folder / item.name)
                continue
            key = prefix + item.name
            if item.is_symlink():
                found[key] = _OnDisk("link", item.path, os.readlink(item.path))
            elif not prefix and item.is_dir(follow_symlinks=False):
                inner = _disk_files(folder / item.name, prefix=f"{item.name}/")
                found.update(inner or {key: _OnDisk("other", item.path)})  # an empty folder goes
            elif item.is_file(follow_symlinks=False):
                found[key] = _OnDisk("file", item.path)
            else:
                found[key] = _OnDisk("other", item.path)
    return found


def _parent_dir(directory: Path, name: str) -> Path:
    """The folder `name` goes in: `directory`, or its subfolder, created as a real directory (a
    symlink or file squatting on the subfolder's name is removed, never followed)."""
    if "/" not in name:
        return directory
    sub = directory / name.split("/", 1)[0]
    if sub.is_symlink() or (sub.exists() and not sub.is_dir()):
        _remove(sub)
    sub.mkdir(exist_ok=True)
    return sub


def _remove(path: Path) -> None:
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path)


def _temp_name() -> str:
    return f"{TEMP_PREFIX}{uuid.uuid4().hex}"


def _create_at(directory_fd: int, name: str, spec: EntryFile) -> None:
    """Create `spec` as `name` in an open directory; never replaces anything."""
    if spec.link_target is not None:
        os.symlink(spec.link_target, name, dir_fd=directory_fd)
        return
    assert spec.content is not None
    fd = os.open(name, _NEW_FILE_FLAGS, 0o666, dir_fd=directory_fd)
    try:
        view = memoryview(spec.content)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _write_file(directory: Path, spec: EntryFile) -> None:
    """Create `spec` under a temporary name in `directory`, then rename it over its own name."""
    parent = _parent_dir(directory, spec.name)
    temp = _temp_name()
    parent_fd = os.open(parent, _DIRECTORY_FLAGS)
    try:
        _create_at(parent_fd, temp, spec)
    finally:
        os.close(parent_fd)
    os.replace(parent / temp, directory / spec.name)


def _fill(directory_fd: int, files: Sequence[EntryFile]) -> None:
    """Create every file of a new entry inside its (still hidden) folder, each subfolder once."""
    subfolders: dict[str, int] = {}
    try:
        for spec in files:
            sub, _, name = spec.name.rpartition("/")
            fd = directory_fd
            if sub:
                fd = subfolders.get(sub, -1)
                if fd < 0:
                    os.mkdir(sub, dir_fd=directory_fd)
                    fd = subfolders[sub] = os.open(sub, _DIRECTORY_FLAGS, dir_fd=directory_fd)
            _create_at(fd, name, spec)
    finally:
        for fd in subfolders.values():
            os.close(fd)


def _create_entry(folder: Path, entry: DesiredEntry) -> int:
    temp = _temp_name()
    folder_fd = os.open(folder, _DIRECTORY_FLAGS)
    try:
        os.mkdir(temp, dir_fd=folder_fd)
        try:
            temp_fd = os.open(temp, _DIRECTORY_FLAGS, dir_fd=folder_fd)
            try:  # final names at once: the folder itself is still hidden
                _fill(temp_fd, entry.files)
            finally:
                os.close(temp_fd)
            os.rename(temp, entry.folder, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
        except BaseException:
            shutil.rmtree(folder / temp, ignore_errors=True)
            raise
    finally:
        os.close(folder_fd)
    return len(entry.files)


def _update_entry(entry_dir: Path, entry: DesiredEntry, on_disk: dict[str, _OnDisk], same: set[str]) -> int:
    """Write the files of `entry` not in `same` (the names already holding the wanted bytes), remove
    the rest of what is on disk."""
    written = 0
    wanted = {spec.name for spec in entry.files}
    for spec in entry.files:
        if spec.name in same:
            continue
        current = on_disk.get(spec.name)
        if current is not None and current.kind == "other":
            _remove(entry_dir / spec.name)  # os.replace cannot replace a directory with a file
        _write_file(entry_dir, spec)
        written += 1
    for name in on_disk.keys() - wanted:
        _remove(entry_dir / name)
    for sub in {name.split("/", 1)[0] for name in on_disk if "/" in name or name not in wanted}:
        path = entry_dir / sub
        if path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
            path.rmdir()  # a season folder whose episodes all left
    return written


def _moves(folder: Path, stale: list[str], missing: list[DesiredEntry]) -> dict[str, str]:
    """stale folder name -> wanted folder name, where the stale folder holds the wanted entry's video
    (its first file)."""
    wanted: dict[str, list[DesiredEntry]] = {}
    for entry in missing:
        wanted.setdefault(entry.files[0].name, []).append(entry)
    moves: dict[str, str] = {}
    for name in stale:
        if not wanted or not (folder / name).is_dir() or (folder / name).is_symlink():
            continue
        for file_name, found in _disk_files(folder / name).items():
            match = next((e for e in wanted.get(file_name, ()) if _holds(found, e.files[0])), None)
            if match is not None:
                moves[name] = match.folder
                wanted[file_name].remove(match)
                break
    return moves


def sync_folder(root: Path, folder: Path, entries: Sequence[DesiredEntry]) -> FolderStats:
    """Make `folder` (an existing directory inside `root`) hold exactly `entries`.

    Hidden names (dot files) other than this module's temporary ones are left alone: they are not
    entries, and the media server ignores them.
    """
    real_folder = confined(root, folder)
    if real_folder == root.resolve():
        raise UnsafePathError("refusing to manage the library root itself as a user folder")
    desired = {entry.folder: entry for entry in entries}
    if len(desired) != len(entries):
        raise ValueError("two entries share a folder name")
    stats = FolderStats()

    existing: dict[str, bool] = {}  # name -> is a real directory
    with os.scandir(real_folder) as scan:
        for item in scan:
            if item.name.startswith(TEMP_PREFIX):
                _remove(real_folder / item.name)
            elif not item.name.startswith("."):
                existing[item.name] = item.is_dir(follow_symlinks=False)

    missing = [entry for name, entry in desired.items() if name not in existing]
    leaving = [name for name in existing if name not in desired]
    for old, new in _moves(real_folder, leaving, missing).items():
        os.rename(real_folder / old, real_folder / new)
        existing[new] = existing.pop(old)
        stats.moved += 1

    # Stale entries go after the new ones are in place (a scan mid-run sees a longer list, never a
    # shorter one; and on a filesystem without a journal a new file does not have to skip past the
    # inodes freed a moment ago, fs/ext4/ialloc.c `recently_deleted`), except one whose name a new
    # entry takes on a case-insensitive share.
    wanted = {name.casefold() for name in desired}
    stale = [name for name in existing if name not in desired]
    for name in [name for name in stale if name.casefold() in wanted]:
        _remove(real_folder / name)
        stats.removed += 1

    for name, entry in desired.items():
        is_dir = existing.get(name)
        if is_dir:
            entry_dir = real_folder / name
            on_disk = _disk_files(entry_dir)
            same = {spec.name for spec in entry.files if _holds(on_disk.get(spec.name), spec)}
            if len(same) == len(entry.files) == len(on_disk):
                stats.unchanged += 1
                continue
            stats.files_written += _update_entry(entry_dir, entry, on_disk, same)
        else:
            if is_dir is not None:  # a file or symlink squatting on the entry's name
                _remove(real_folder / name)
            stats.files_written += _create_entry(real_folder, entry)
        stats.written += 1

    for name in [name for name in stale if name.casefold() not in wanted]:
        _remove(real_folder / name)
        stats.removed += 1
    return stats
