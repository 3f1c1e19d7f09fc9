"""No feedback loops: items announced in the sidecar's own output libraries are ignored.

(Plays of those items are not: `planner.decide_with_library_check` maps them to the original movie.)

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
from dataclasses import dataclass

import asyncpg

from sidecar.library.paths import in_library_root
from sidecar.settings import Settings
from webhooks import queries
from webhooks.events import WebhookEvent

# Our libraries are created rarely (once per user): look their ids up now and then, not per event. A
# library created within the last TTL is still caught by the path check (Emby) and by defence 3.
_LIBRARY_IDS_TTL_SECONDS = 30.0


@dataclass
class _LibraryIds:
    db: asyncpg.Pool  # compared by identity: a new pool (tests) never sees another's ids
    fetched_at: float
    ids: frozenset[str]


_library_ids_cache: list[_LibraryIds] = []  # at most one entry: the process's pool


async def _sidecar_library_ids(db: asyncpg.Pool) -> frozenset[str]:
    now = time.monotonic()
    for cached in _library_ids_cache:
        if cached.db is db and now - cached.fetched_at < _LIBRARY_IDS_TTL_SECONDS:
            return cached.ids
    rows = await db.fetch(queries.SIDECAR_LIBRARY_IDS)
    ids = frozenset(str(value) for row in rows for value in row.values() if value)
    _library_ids_cache[:] = [_LibraryIds(db, now, ids)]
    return ids


async def _in_sidecar_library(db: asyncpg.Pool, event: WebhookEvent) -> bool:
    # `user_libraries.library_item_id` / `library_id` are the media-server ids of each AI Picks
    # library. Emby sends the item's parent folder id, which matches for items directly inside a
    # library folder. Only movie events get here (`planner.decide` ignores the rest), and a movie is
    # never a library folder itself, so its own id is not compared. Jellyfin payloads name no
    # library: no id-based check is possible for them (see point 3 above) and no query is made.
    if not event.parent_id:
        return False
    return event.parent_id in await _sidecar_library_ids(db)


async def is_own_output_item(db: asyncpg.Pool, settings: Settings, event: WebhookEvent) -> bool:
    """Whether the event is about an item inside the sidecar's own output libraries."""
    if event.path and in_library_root(event.path, settings):
        return True
    return await _in_sidecar_library(db, event)
