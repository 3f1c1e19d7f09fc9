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
3. Copy of a known item (Jellyfin, and Emby when the path does not tell): Jellyfin payloads carry
   neither a path nor a library id (plugin issues #114, #303, #340), but a copy's `Provider_*` keys
   are the original's (our NFO's uniqueids). An ItemAdded of an id the catalogue does not hold whose
   TMDb or IMDb id is that of a synced item of the same type (movie, show, episode) is one of our
   copies, or another file of a known item, which the scheduled sync adds: either way no run now.
   Without this, every library write queued a sync run that changed nothing and, on the one-run-at-
   a-time worker, delayed the next webhook chain (series bench: 9 such runs per 20 plays).
4. Deleted and never held: an ItemDeleted of an id the catalogue does not hold removes nothing (the
   scoped sync would look it up and find nothing to mark): a copy leaving an AI library, mostly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import asyncpg

from sidecar.library.paths import in_library_root, is_within
from sidecar.media.kind import MediaKind
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


async def is_copy_of_known_item(db: asyncpg.Pool, kind: MediaKind, event: WebhookEvent) -> bool:
    """Defence 3: an item the catalogue does not hold, with the provider ids of one it does."""
    table = kind.table_of(event.item_type)
    if table is None or not (event.tmdb_id or event.imdb_id):
        return False
    return bool(
        await db.fetchval(
            queries.COPY_OF_KNOWN_ITEM.format(table=table), event.item_id, event.tmdb_id, event.imdb_id
        )
    )


async def is_unknown_item(db: asyncpg.Pool, kind: MediaKind, event: WebhookEvent) -> bool:
    """Defence 4's test: the catalogue does not hold this item (an item type it does not sync counts
    as held, so its event goes on to the sync as before)."""
    table = kind.table_of(event.item_type)
    if table is None:
        return False
    return not await db.fetchval(queries.IN_CATALOGUE.format(table=table), event.item_id)
