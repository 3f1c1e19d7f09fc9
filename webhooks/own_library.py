"""No feedback loops: items announced in the sidecar's own output libraries are ignored.

(Plays of those items are not: `planner.decide_with_library_check` maps them to the original movie.)

Writing an AI Picks library makes the media server scan it and announce every item in it
(ItemAdded / library.new). If those announcements queued syncs, each library write would trigger
another sync, and so on. Three defences, from cheapest to last resort:

1. Path (Emby): Emby payloads carry `Item.Path`. Anything under the library root, as the sidecar
   sees it (`settings.resolved_library_root`, also after `path_mappings`) or as the server sees it
   (`settings.library_server_root`), is ours.
2. Registered folder (Emby): an item whose path lies under the server-side folder of one of our
   libraries (`user_libraries.server_path`, registered by sync-movie-libraries) is ours, even when
   the library root setting does not cover it. An item's `ParentId` can not be used for this: it is
   the item's own folder, not its library (jellyfin/jellyfin `BaseItem.ParentId`; Emby alike).
3. Jellyfin payloads carry neither a path nor a library id (plugin issues #114, #303, #340), so a
   Jellyfin ItemAdded for an AI library item passes this check. That is still safe: the planned
   `sync-movies` run re-fetches the item from the server and only syncs the configured movie
   libraries, so an AI library item never becomes a movie row and its run changes nothing (no
   follow-ups, no loop). The cost is one small wasted run per library write, coalesced by the
   debounce.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import asyncpg

from sidecar.library.paths import in_library_root, is_within
from sidecar.settings import Settings
from webhooks import queries
from webhooks.events import WebhookEvent

# Our libraries are created rarely (once per user): look their folders up now and then, not per
# event. A library created within the last TTL is still caught by the root check and by defence 3.
_LIBRARY_PATHS_TTL_SECONDS = 30.0


@dataclass
class _LibraryPaths:
    db: asyncpg.Pool  # compared by identity: a new pool (tests) never sees another's paths
    fetched_at: float
    paths: frozenset[str]


_library_paths_cache: list[_LibraryPaths] = []  # at most one entry: the process's pool


async def _sidecar_library_paths(db: asyncpg.Pool) -> frozenset[str]:
    now = time.monotonic()
    for cached in _library_paths_cache:
        if cached.db is db and now - cached.fetched_at < _LIBRARY_PATHS_TTL_SECONDS:
            return cached.paths
    rows = await db.fetch(queries.SIDECAR_LIBRARY_PATHS)
    paths = frozenset(str(row["server_path"]) for row in rows)
    _library_paths_cache[:] = [_LibraryPaths(db, now, paths)]
    return paths


async def _in_sidecar_library(db: asyncpg.Pool, event: WebhookEvent) -> bool:
    # Only Emby payloads carry a path; Jellyfin's name neither path nor library (point 3 above), so
    # no query is made for them.
    if not event.path:
        return False
    return any(is_within(event.path, folder) for folder in await _sidecar_library_paths(db))


async def is_own_output_item(db: asyncpg.Pool, settings: Settings, event: WebhookEvent) -> bool:
    """Whether the event is about an item inside the sidecar's own output libraries."""
    if event.path and in_library_root(event.path, settings):
        return True
    return await _in_sidecar_library(db, event)
