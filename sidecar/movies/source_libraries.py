"""Which of the server's libraries sync-movies reads: the configured ones, or every movie library.

The sidecar's own "AI Picks" libraries are movie libraries too (copies of real movies); they are
never sources, whatever the configuration says.
"""

from __future__ import annotations

from dataclasses import dataclass

from sidecar.mediaserver import Library
from sidecar.settings import Settings


@dataclass(frozen=True)
class LibrarySelection:
    chosen: list[Library]
    unmatched: list[str]  # configured names/ids the server does not have
    own: list[Library]  # the sidecar's own libraries, skipped


def is_in_library_root(path: str, settings: Settings) -> bool:
    """Whether a media-server path lies in the sidecar's library root (as the sidecar or the server
    sees it): a location of an AI Picks library, or a copy inside one."""
    roots = {str(settings.resolved_library_root).rstrip("/")}
    if settings.library_server_root:
        roots.add(settings.library_server_root.rstrip("/"))
    return any(path == root or path.startswith(root + "/") for root in roots)


def _is_own(library: Library, settings: Settings) -> bool:
    if any(is_in_library_root(location, settings) for location in library.locations):
        return True
    prefix = settings.library_name_template.split("{", 1)[0].strip()
    return bool(prefix) and library.name.startswith(prefix)


def select_movie_libraries(libraries: list[Library], settings: Settings) -> LibrarySelection:
    own = [lib for lib in libraries if _is_own(lib, settings)]
    candidates = [lib for lib in libraries if lib not in own]
    if not settings.movie_libraries:
        return LibrarySelection([lib for lib in candidates if lib.collection_type == "movies"], [], own)
    chosen: list[Library] = []
    unmatched: list[str] = []
    for wanted in settings.movie_libraries:
        key = wanted.strip()
        match = next(
            (
                lib
                for lib in candidates
                if key.lower() == lib.name.lower()
                or key.replace("-", "").lower() in (lib.id, lib.item_id, lib.guid)
            ),
            None,
        )
        if match is None:
            unmatched.append(wanted)
        elif match not in chosen:
            chosen.append(match)
    return LibrarySelection(chosen, unmatched, own)
