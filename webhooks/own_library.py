"""No feedback loops: events about the sidecar's own output libraries are ignored.

Writing an AI Picks library makes the media server scan it and announce every item in it
(ItemAdded / library.new). If those announcements queued syncs, each library write would trigger
another sync, and so on. Three defences, from cheapest to last resort:

1. Path (Emby): Emby payloads carry `Item.Path`. Anything under the library root, as the sidecar
   sees it (`settings.resolved_library_root`, also after `path_mappings`) or as the server sees it
   (`settings.library_server_root`), is ours.
2. Library id (Emby): an item whose parent id is one of our server libraries (`user_libraries`,
   registered by sync-movie-libraries) is ours, whatever its path says. See `_in_sidecar_library`.
3. Jellyfin payloads carry neither a path nor a library id (plugin issues #114, #303, #340), so a
   Jellyfin ItemAdded for an AI library item passes this check. That is still safe: the planned
   `sync-movies` run re-fetches the item from the server and only syncs the configured movie
   libraries, so an AI library item never becomes a movie row and its run changes nothing (no
   follow-ups, no loop). The cost is one small wasted run per library write, coalesced by the
   debounce.
"""

from __future__ import annotations

import time
from pathlib import PurePosixPath

import asyncpg

from sidecar.settings import Settings
from webhooks import queries
from webhooks.events import WebhookEvent

# The schema only changes when migrations run (at start-up); look again now and then, not per event.
_TABLE_CHECK_TTL_SECONDS = 60.0
_table_checked: dict[int, tuple[float, bool]] = {}


def _comparable(path: str) -> str:
    """Forward slashes, no trailing slash: Emby on Windows sends backslashes."""
    cleaned = path.strip().replace("\\", "/")
    return cleaned.rstrip("/") or "/"


def _is_under(path: str, root: str) -> bool:
    path, root = _comparable(path), _comparable(root)
    return path == root or path.startswith(root if root.endswith("/") else root + "/")


def _mapped(path: str, mappings: dict[str, str]) -> str | None:
    """The server's path as the sidecar sees it, via the longest matching `path_mappings` prefix."""
    for server_prefix in sorted(mappings, key=len, reverse=True):
        if _is_under(path, server_prefix):
            rest = _comparable(path)[len(_comparable(server_prefix)) :]
            return str(PurePosixPath(_comparable(mappings[server_prefix]) + rest))
    return None


def is_own_output_path(path: str, settings: Settings) -> bool:
    """Whether a media-server path lies inside the sidecar's library root (either view of it)."""
    roots = [str(settings.resolved_library_root)]
    if settings.library_server_root:
        roots.append(settings.library_server_root)
    candidates = [path]
    mapped = _mapped(path, settings.path_mappings)
    if mapped is not None:
        candidates.append(mapped)
    return any(_is_under(candidate, root) for candidate in candidates for root in roots)


async def _has_user_libraries(db: asyncpg.Pool) -> bool:
    now = time.monotonic()
    cached = _table_checked.get(id(db))
    if cached is not None and now - cached[0] < _TABLE_CHECK_TTL_SECONDS:
        return cached[1]
    exists = bool(await db.fetchval(queries.HAS_USER_LIBRARIES))
    _table_checked[id(db)] = (now, exists)
    return exists


async def _in_sidecar_library(db: asyncpg.Pool, event: WebhookEvent) -> bool:
    # `user_libraries.library_item_id` / `library_id` are the media-server ids of each AI Picks
    # library. Emby sends the item's parent folder id, which matches for items directly inside a
    # library folder; the item id itself matches when the event is about the library folder. Jellyfin
    # payloads name no library, so no id-based check is possible for them (see point 3 above).
    if not await _has_user_libraries(db):
        return False
    ids = [i for i in (event.parent_id, event.item_id) if i]
    if not ids:
        return False
    return bool(await db.fetchval(queries.IS_SIDECAR_LIBRARY, ids))


async def is_own_output_item(db: asyncpg.Pool, settings: Settings, event: WebhookEvent) -> bool:
    """Whether the event is about an item inside the sidecar's own output libraries."""
    if event.path and is_own_output_path(event.path, settings):
        return True
    return await _in_sidecar_library(db, event)
