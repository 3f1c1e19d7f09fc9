"""A library scan of the sidecar's AI Picks folders, as the real servers do one after a refresh.

The sidecar writes `users/<user>/ai-movies/NN - Title (Year)/` entries (a symlink or `.strm` video
entry plus `Title (Year).nfo`) and asks the server to refresh that library. The server then holds a
second item for each pick, a *copy*: a Movie in the AI library, named from the NFO, with the NFO's
`<uniqueid>`s as provider ids (so it shares the original's user data, see `model.py`), and the entry
file as its path. A copy whose folder is gone is removed. Additions and removals emit the usual
`item_added` / `item_removed` events, so an attached webhook sender fires as after a real scan.

The scan reads the library's locations as the server sees them; in tests the sidecar and the
simulator share the filesystem, so that is the folder the sidecar wrote. As on the real server it
runs in the background after the request was answered (`SimState.run_later`; tests
`await state.settle()` before they look at the copies):

* `POST /Items/{id}/Refresh` on a library queues a refresh of that library only and answers 204 at
  once (jellyfin/jellyfin `Jellyfin.Api/Controllers/ItemRefreshController.cs` ->
  `ProviderManager.QueueRefresh`): `queue_library_refresh`.
* `POST /Library/Refresh`, and a create or add-path with `refreshLibrary=true`, restart the full
  "Scan Media Library" task over every library (`Emby.Server.Implementations/Library/LibraryManager.cs`
  `ValidateMediaLibrary` / `StartScanInBackground` -> `CancelIfRunningAndQueue<RefreshMediaLibraryTask>`,
  `ScheduledTasks/Tasks/RefreshMediaLibraryTask.cs`; `Jellyfin.Api/Controllers/LibraryStructureController.cs`
  for add-path): `restart_full_scan`, counted in `state.library_scans`. A restart while one is
  queued joins it (the task manager holds one queued run).

A queued scan reads the folders in a worker thread and only applies what it found on the event loop,
so the server keeps answering requests while it scans, as Jellyfin does: `QueueRefresh` hands the
queue to `Task.Run(StartProcessingRefreshQueue)` (`MediaBrowser.Providers/Manager/ProviderManager.cs`)
and the API is served meanwhile. A scan that held the loop would stall every request (and every
webhook delivery) of a simulator sharing its process with a benchmark for as long as it reads.

Only libraries created through the API scan (`SimLibrary.scans_folders`); seeded libraries keep
their seeded items. An item changed in place is updated without an event (the simulator has no
"item updated" webhook).
"""

from __future__ import annotations

import asyncio
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from sidecar.simulator.model import SimLibrary, SimState, utcnow

VIDEO_EXTENSIONS = frozenset(
    {
        ".strm",
        ".mkv",
        ".mp4",
        ".m4v",
        ".avi",
        ".mov",
        ".wmv",
        ".ts",
        ".m2ts",
        ".webm",
        ".mpg",
        ".mpeg",
        ".iso",
    }
)
TICKS_PER_MINUTE = 600_000_000
FULL_SCAN = "*"  # the busy marker of the full scan in `SimState.busy_libraries`
_PROVIDER_NAMES = {"tmdb": "Tmdb", "imdb": "Imdb", "tvdb": "Tvdb"}
_TITLE_YEAR = re.compile(r"^(?P<title>.+?)\s*\((?P<year>\d{4})\)$")
_COMPARED_FIELDS = (
    "name", "original_title", "sort_name", "year", "overview", "genres", "runtime_ticks", "provider_ids",
)  # fmt: skip
_EMPTY: dict[str, Any] = {"genres": [], "provider_ids": {}}


@dataclass
class ScanResult:
    library: str
    added: list[str] = field(default_factory=list)  # item ids
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def _text(root: ET.Element, tag: str) -> str | None:
    element = root.find(tag)
    value = element.text.strip() if element is not None and element.text else ""
    return value or None


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


# The NFO readers of movies (here) and of shows and episodes (tv_scan.py) share these: one parse and
# one rule for text, numbers and repeated tags, so the kinds cannot read the same tag differently.
def nfo_root(path: str, tag: str) -> ET.Element | None:
    """The NFO's root element when it parses and is a `<tag>`; None when missing, broken or another kind."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    return root if root.tag == tag else None


def nfo_all(root: ET.Element, tag: str) -> list[str]:
    """The non-empty texts of every `<tag>` (genre, tag, studio...)."""
    return [e.text.strip() for e in root.findall(tag) if e.text and e.text.strip()]


def nfo_texts(root: ET.Element, names: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """(tag, field) pairs -> {field: text} for the tags present, plus `year` when it is a number."""
    fields: dict[str, Any] = {}
    for tag, name in names:
        value = _text(root, tag)
        if value is not None:
            fields[name] = value
    year = _int(_text(root, "year"))
    if year is not None:
        fields["year"] = year
    return fields


def read_nfo(path: str) -> dict[str, Any]:
    """The movie fields a server takes from a Kodi `<movie>` NFO; {} when it is missing or broken
    (the server then names the item from its file, as here)."""
    root = nfo_root(path, "movie")
    if root is None:
        return {}
    fields = nfo_texts(root, (("title", "name"), ("originaltitle", "original_title"), ("sorttitle", "sort_name"),
                              ("plot", "overview")))  # fmt: skip
    runtime = _int(_text(root, "runtime"))
    if runtime:
        fields["runtime_ticks"] = runtime * TICKS_PER_MINUTE
    genres = nfo_all(root, "genre")
    if genres:
        fields["genres"] = genres
    fields["provider_ids"] = nfo_provider_ids(root)
    return fields


def nfo_provider_ids(root: ET.Element) -> dict[str, str]:
    """`<uniqueid type="tmdb">603</uniqueid>`... -> {"Tmdb": "603"} (type matched case-insensitively)."""
    providers: dict[str, str] = {}
    for unique in root.findall("uniqueid"):
        kind = (unique.get("type") or "").strip().lower()
        if kind and unique.text and unique.text.strip():
            providers[_PROVIDER_NAMES.get(kind, kind.capitalize())] = unique.text.strip()
    return providers


def _from_file_name(stem: str) -> dict[str, Any]:
    match = _TITLE_YEAR.match(stem)
    if match:
        return {"name": match.group("title"), "year": int(match.group("year"))}
    return {"name": stem}


def _entry(folder: str) -> dict[str, Any] | None:
    """The copy one entry folder makes: its video entry's path and the NFO's fields, or None."""
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return None
    videos = [
        n
        for n in names
        if os.path.splitext(n)[1].lower() in VIDEO_EXTENSIONS and os.path.lexists(os.path.join(folder, n))
    ]
    if not videos:
        return None
    video = videos[0]
    stem = os.path.splitext(video)[0]
    nfo = next((os.path.join(folder, n) for n in (f"{stem}.nfo", "movie.nfo") if n in names), None)
    fields = {"provider_ids": {}, **_from_file_name(stem), **(read_nfo(nfo) if nfo else {})}
    fields["path"] = os.path.join(folder, video)
    fields["container"] = os.path.splitext(video)[1].lstrip(".").lower()
    return fields


def entries_on_disk(library: SimLibrary) -> dict[str, dict[str, Any]]:
    """path -> fields for every entry folder under the library's locations (hidden ones skipped:
    the sidecar's temporary folders start with a dot)."""
    found: dict[str, dict[str, Any]] = {}
    for location in library.locations:
        try:
            children = sorted(os.listdir(location))
        except OSError:
            continue
        for child in children:
            folder = os.path.join(location, child)
            if child.startswith(".") or not os.path.isdir(folder):
                continue
            entry = _entry(folder)
            if entry is not None:
                found[entry["path"]] = entry
    return found


def read_library(library: SimLibrary) -> dict[str, dict[str, Any]]:
    """What the library's folders hold (no server state is touched: safe in a worker thread)."""
    if library.collection_type == "tvshows":
        from sidecar.simulator.tv_scan import shows_on_disk  # builds on this module

        return shows_on_disk(library)
    return entries_on_disk(library)


def apply_scan(state: SimState, library: SimLibrary, on_disk: dict[str, dict[str, Any]]) -> ScanResult:
    """Bring the library's items in line with what `read_library` found: add, update, remove copies."""
    if library.collection_type == "tvshows":
        from sidecar.simulator.tv_scan import apply_tv_scan

        return apply_tv_scan(state, library, on_disk)
    result = ScanResult(library.name)
    held = {m.path: m for m in list(state.movies.values()) if m.library_id == library.item_id}
    for path, movie in held.items():
        if path not in on_disk:
            state.remove_movie(movie.id)
            result.removed.append(movie.id)
    for path, fields in on_disk.items():
        movie = held.get(path)
        if movie is None:
            added = state.add_movie(
                id=state.new_item_id(f"path:{path}"), library_id=library.item_id, **fields
            )  # Jellyfin derives an item's id from its path; Emby numbers it
            result.added.append(added.id)
            continue
        changes = {}
        for name in _COMPARED_FIELDS:
            wanted = fields.get(name, _EMPTY.get(name))
            if getattr(movie, name) != wanted:
                changes[name] = wanted
        if changes:
            state.update_movie(movie.id, **changes)
            result.updated.append(movie.id)
    state.scan_results.append(result)
    return result


def scan_library(state: SimState, library: SimLibrary) -> ScanResult:
    """Scan now, in the caller's thread (tests; the queued scans use `scan_in_background`)."""
    if not library.scans_folders:
        return ScanResult(library.name)
    return apply_scan(state, library, read_library(library))


async def scan_in_background(state: SimState, library: SimLibrary) -> None:
    """Read the folders in a worker thread, then apply on the loop, unless the library went meanwhile."""
    if not library.scans_folders:
        return
    on_disk = await asyncio.to_thread(read_library, library)
    if library in state.libraries:
        apply_scan(state, library, on_disk)


def queue_library_refresh(state: SimState, library: SimLibrary) -> None:
    """A refresh of one library, run after the answer (a second one queued meanwhile joins it)."""
    if library.item_id in state.busy_libraries:
        return
    state.busy_libraries.add(library.item_id)

    async def run() -> None:
        state.busy_libraries.discard(library.item_id)
        if library in state.libraries:
            await scan_in_background(state, library)

    state.run_later(run)


def restart_full_scan(state: SimState) -> None:
    """(Re)start the full scan of every library: counted at once, run after the answer."""
    state.library_scans.append(utcnow())
    if FULL_SCAN in state.busy_libraries:
        return  # cancelled and queued again: still one run to come
    state.busy_libraries.add(FULL_SCAN)

    async def run() -> None:
        state.busy_libraries.discard(FULL_SCAN)
        for library in list(state.libraries):
            await scan_in_background(state, library)

    state.run_later(run)
