"""The media-server half of a user library: find or create it (who may see it is
`sidecar.mediaserver.visibility`).

Works through the `MediaServerClient` protocol only, so both dialects behave the same. Jellyfin
answers a duplicate library name by silently creating `Name2`, so a library is looked up (by
remembered id, then by the name as the server stores it) before one is created.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sidecar.library.names import server_library_name
from sidecar.mediaserver.base import (
    Library,
    MediaServerAuthError,
    MediaServerClient,
    MediaServerError,
    normalise_id,
)


class LibraryConflictError(MediaServerError):
    """The library name we want is used by a library that holds other folders."""


def _same_location(a: str, b: str) -> bool:
    return a.rstrip("/\\") == b.rstrip("/\\")


def find_library(libraries: Iterable[Library], library_id: str) -> Library | None:
    wanted = normalise_id(library_id)
    for library in libraries:
        if wanted in (normalise_id(library.id), normalise_id(library.item_id), normalise_id(library.guid)):
            return library
    return None


@dataclass(frozen=True)
class EnsuredLibrary:
    library: Library
    created: bool
    recreated: bool  # we had one, and someone deleted it on the server
    path_added: bool = False  # the folder was linked now: the library needs a refresh


async def ensure_library(
    client: MediaServerClient,
    libraries: list[Library],
    *,
    name: str,
    server_path: str,
    known_id: str | None,
    create: bool = True,
    collection_type: str = "movies",
) -> EnsuredLibrary | None:
    """The user's library, found or created, holding `server_path`. `libraries` is the current
    server list; a created library is appended so later users in the same run see it. With
    `create=False` (a user no longer enabled) a missing library stays missing: None."""
    if known_id:
        library = find_library(libraries, known_id)
        if library is not None:
            linked = any(_same_location(loc, server_path) for loc in library.locations)
            if not linked:
                await client.add_library_path(library, server_path)
            return EnsuredLibrary(library, created=False, recreated=False, path_added=not linked)

    # No remembered id (a new user, a lost database): the server's own name for ours, as a fallback.
    wanted = server_library_name(name).casefold()
    for library in libraries:
        if server_library_name(library.name).casefold() != wanted:
            continue
        if library.locations and not any(_same_location(loc, server_path) for loc in library.locations):
            raise LibraryConflictError(
                f"a library named {library.name!r} already exists with other folders "
                f"({', '.join(library.locations)}); rename it or change SIDECAR_LIBRARY_NAME_TEMPLATE"
            )
        if not library.locations:
            await client.add_library_path(library, server_path)
        return EnsuredLibrary(library, created=False, recreated=False, path_added=not library.locations)

    if not create:
        return None
    try:
        library = await client.create_library(name, server_path, collection_type)
    except MediaServerAuthError:
        raise
    except MediaServerError as exc:
        raise MediaServerError(
            f"could not create library {name!r} at {server_path}: {exc}; the folder must exist where "
            "the media server looks: check SIDECAR_LIBRARY_SERVER_ROOT (the library root as the server sees it)"
        ) from exc
    libraries.append(library)
    return EnsuredLibrary(library, created=True, recreated=bool(known_id))
