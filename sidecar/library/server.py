"""The media-server half of a user library: the library itself, and who may see it.

Works through the `MediaServerClient` protocol only, so both dialects behave the same. Two rules
from the servers' behaviour shape it:

* Jellyfin answers a duplicate library name by silently creating `Name2`, so a library is looked up
  (by remembered id, then by name) before one is created.
* A library is visible to every user whose policy says `EnableAllFolders=true`. Leaving such users
  alone would show everyone's picks to everyone (the old product's bug), so those users are switched
  to an explicit folder list: every non-AI library plus their own AI library.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

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


def is_under(location: str, server_root: str) -> bool:
    root = server_root.rstrip("/\\")
    return location.startswith((root + "/", root + "\\"))


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


async def ensure_library(
    client: MediaServerClient,
    libraries: list[Library],
    *,
    name: str,
    server_path: str,
    known_id: str | None,
    create: bool = True,
) -> EnsuredLibrary | None:
    """The user's library, found or created, holding `server_path`. `libraries` is the current
    server list; a created library is appended so later users in the same run see it. With
    `create=False` (a user no longer enabled) a missing library stays missing: None."""
    if known_id:
        library = find_library(libraries, known_id)
        if library is not None:
            if not any(_same_location(loc, server_path) for loc in library.locations):
                await client.add_library_path(library, server_path)
            return EnsuredLibrary(library, created=False, recreated=False)

    for library in libraries:
        if library.name.casefold() != name.casefold():
            continue
        if library.locations and not any(_same_location(loc, server_path) for loc in library.locations):
            raise LibraryConflictError(
                f"a library named {library.name!r} already exists with other folders "
                f"({', '.join(library.locations)}); rename it or change SIDECAR_LIBRARY_NAME_TEMPLATE"
            )
        if not library.locations:
            await client.add_library_path(library, server_path)
        return EnsuredLibrary(library, created=False, recreated=False)

    if not create:
        return None
    try:
        library = await client.create_library(name, server_path)
    except MediaServerAuthError:
        raise
    except MediaServerError as exc:
        raise MediaServerError(
            f"could not create library {name!r} at {server_path}: {exc}; the folder must exist where "
            "the media server looks: check SIDECAR_LIBRARY_SERVER_ROOT (the library root as the server sees it)"
        ) from exc
    libraries.append(library)
    return EnsuredLibrary(library, created=True, recreated=bool(known_id))


def plan_policy(
    policy: Mapping[str, Any],
    *,
    own_guid: str | None,
    ai_guids: set[str],
    non_ai_guids: list[str],
) -> dict[str, Any] | None:
    """The user's complete new policy, or None when it already shows exactly the right AI library.

    Guids are compared normalised (Jellyfin returns dashed GUIDs); folders the user had that are not
    AI libraries are kept as they are.
    """
    own = normalise_id(own_guid) if own_guid else None
    foreign_ai = ai_guids - ({own} if own else set())
    enabled = [str(f) for f in policy.get("EnabledFolders") or []]
    enabled_norm = {normalise_id(f) for f in enabled}

    if policy.get("EnableAllFolders"):
        if not foreign_ai:
            return None  # sees everything, and "everything" holds no one else's picks
        folders = list(non_ai_guids)
        if own_guid:
            folders.append(own_guid)
    else:
        folders = [f for f in enabled if normalise_id(f) not in ai_guids]
        if own_guid:
            folders.append(own_guid)
        if enabled_norm == {normalise_id(f) for f in folders}:
            return None
    updated = dict(policy)
    updated["EnableAllFolders"] = False
    updated["EnabledFolders"] = folders
    return updated


@dataclass
class VisibilityResult:
    policies_updated: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (user name, error)


async def restrict_visibility(
    client: MediaServerClient,
    libraries: list[Library],
    *,
    own_library_by_user: Mapping[str, str],
    ai_guids: set[str],
) -> VisibilityResult:
    """For every server user: their own AI library visible, nobody else's. Writes only changes.

    `own_library_by_user` maps user id -> guid of that user's AI library; `ai_guids` are the
    normalised guids of every AI library (all users).
    """
    result = VisibilityResult()
    non_ai = [lib.guid for lib in libraries if normalise_id(lib.guid) not in ai_guids]
    own_by_user = {normalise_id(user_id): guid for user_id, guid in own_library_by_user.items()}
    for user in await client.list_users():
        try:
            policy = await client.get_user_policy(user.id)
            updated = plan_policy(
                policy,
                own_guid=own_by_user.get(normalise_id(user.id)),
                ai_guids=ai_guids,
                non_ai_guids=non_ai,
            )
            if updated is not None:
                await client.set_user_policy(user.id, updated)
                result.policies_updated += 1
        except MediaServerAuthError:
            raise
        except MediaServerError as exc:
            result.failures.append((user.name, str(exc)))
    return result
