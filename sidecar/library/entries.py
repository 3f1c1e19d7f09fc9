"""Turn a user's ranked picks into desired library entries (folder + video entry + NFO), for kinds
whose entry is one folder per pick (movies); what goes in the NFO and the names is the kind's.

Two ways to put a playable "video entry" in a folder (`SIDECAR_LIBRARY_MODE`):

* `symlink` (default): `Title (Year).<ext>` is a symbolic link to the item's file. The link target is
  the item's path **as the media server sees it** (the items table's `path`, unmapped), because the server is
  the one that follows the link: it resolves the target inside its own filesystem namespace when it
  scans and plays. `SIDECAR_PATH_MAPPINGS` (server prefix -> sidecar prefix) is used only to find the
  file from the sidecar and check that it exists; when both processes share the mount layout (the
  usual compose set-up) the two paths are equal and the link works for both. Jellyfin >= 10.11.7
  ignores local paths inside `.strm` files, so symlinks are the mode that works everywhere.
* `strm`: `Title (Year).strm` holding one line. With `SIDECAR_STRM_URL_TEMPLATE` unset, the line is the
  server path (works on Emby and on Jellyfin before 10.11.7). With a template such as
  `http://jellyfin:8096/Videos/{item_id}/stream?static=true&ApiKey={api_key}` the line is a stream URL.
  **Such a URL puts the media server's API key, a full admin credential, in a plain file** readable by
  anyone who can read the library folder (and by every client the server hands the path to): use a
  dedicated key, restrict the folder, or prefer symlinks.

Entry folders are named `Title (Year)` (`SIDECAR_LIBRARY_ENTRY_NAMES=title`, the default): the
server derives an item's id from its path, so a folder that keeps its name when its rank changes keeps
the user's resume point and watched state, and a re-rank rewrites NFOs only. The rank lives in the
NFO's sort title and date added, so the server still lists the picks best first. The product's
documented layout, `NN - Title (Year)` (`ranked`), numbers entries by position among the picks that
could be written (a pick whose file is missing is skipped, not left as a gap).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from sidecar.library import names
from sidecar.library.nfo import date_added_for_rank
from sidecar.library.paths import file_extension, is_existing_file, server_to_local
from sidecar.library.writer import DesiredEntry, EntryFile


@dataclass(frozen=True)
class EntryOptions:
    mode: Literal["symlink", "strm"] = "symlink"
    path_mappings: Mapping[str, str] = field(default_factory=dict)
    strm_url_template: str | None = None
    api_key: str | None = None  # only substituted into `{api_key}` of the STRM template
    check_files_exist: bool = True
    ranked_folders: bool = False  # `NN - Title (Year)` instead of `Title (Year)`


@dataclass(frozen=True)
class PickEntry:
    """What one pick's entry is made from, whatever the kind."""

    item_id: str
    rank: int
    title: str
    path: str | None  # the file, as the media server sees it
    base_name: str  # the name every file of the entry shares ("Title (Year)")
    id_tag: str  # tells two picks with the same base name apart ("tmdbid-603")
    nfo: Callable[[int, int, dt.datetime], bytes]  # (position, rank width, date added) -> the NFO


@dataclass(frozen=True)
class SkippedPick:
    item_id: str
    title: str
    reason: str


@dataclass
class BuiltEntries:
    entries: list[DesiredEntry]
    skipped: list[SkippedPick]


def _stream_url(template: str, item_id: str, api_key: str | None) -> str:
    return template.replace("{item_id}", item_id).replace("{api_key}", api_key or "")


def video_file(item_id: str, path: str | None, base: str, options: EntryOptions) -> EntryFile | str:
    """The playable file (symlink or `.strm`) named `base` for server item `item_id` at `path`, or the
    reason it cannot be made. Every kind's entries use it (a movie, each episode of a show)."""
    if options.mode == "strm" and options.strm_url_template:
        line = _stream_url(options.strm_url_template, item_id, options.api_key)
        return EntryFile(names.file_name(base, ".strm"), content=(line + "\n").encode("utf-8"))
    if not path:
        return "the media server reported no file path for this item"
    if options.check_files_exist:
        local = server_to_local(path, options.path_mappings)
        if not is_existing_file(local):
            return (
                f"file not found at {local} (server path {path}); "
                "check SIDECAR_PATH_MAPPINGS and that the media folder is mounted in the sidecar"
            )
    if options.mode == "strm":
        return EntryFile(names.file_name(base, ".strm"), content=(path + "\n").encode("utf-8"))
    extension = file_extension(path)
    if not extension:
        return f"the item's path {path} has no file extension"
    return EntryFile(names.file_name(base, extension), link_target=path)


def build_entries(
    picks: Sequence[PickEntry], options: EntryOptions, date_anchor: dt.datetime
) -> BuiltEntries:
    """Desired entries for one user, best pick first."""
    usable: list[tuple[PickEntry, EntryFile]] = []
    skipped: list[SkippedPick] = []
    for pick in sorted(picks, key=lambda p: p.rank):
        video = video_file(pick.item_id, pick.path, pick.base_name, options)
        if isinstance(video, str):
            skipped.append(SkippedPick(pick.item_id, pick.title, video))
        else:
            usable.append((pick, video))

    width = names.rank_width(len(usable))
    shared = _shared_names(pick.base_name for pick, _ in usable)
    entries: list[DesiredEntry] = []
    for position, (pick, video) in enumerate(usable, start=1):
        base = pick.base_name
        nfo = pick.nfo(position, width, date_added_for_rank(date_anchor, position))
        if options.ranked_folders:
            folder = names.entry_folder_name(position, width, base)
        elif base.casefold() in shared:
            folder = names.disambiguated(base, pick.id_tag)
        else:
            folder = base
        entries.append(
            DesiredEntry(folder=folder, files=(video, EntryFile(names.file_name(base, ".nfo"), content=nfo)))
        )
    return BuiltEntries(entries, skipped)


def _shared_names(bases: Iterable[str]) -> set[str]:
    """Names (case-folded: SMB and macOS shares ignore case) that more than one pick would take."""
    seen: set[str] = set()
    shared: set[str] = set()
    for base in bases:
        key = base.casefold()
        (shared if key in seen else seen).add(key)
    return shared
