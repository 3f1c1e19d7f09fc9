"""`refresh-top-picks` (daily): one shared "Top Picks" library per media kind.

What this server's users watched most over `SIDECAR_TOP_PICKS_WINDOW_DAYS`: distinct viewers among
the users enabled for the kind, a finished play counting twice a started one, halved every half
window since it was played; ties by community rating; `SIDECAR_TOP_PICKS_COUNT` entries. Plays of
AI Picks copies are already the originals' plays (watch history maps them). Written like the AI
libraries (by difference; rank in the NFO sort title; the explanation "Watched by 7 people here
this month" in the plot), registered once per kind, then every server user's policy is set so that
each enabled user sees it and nobody else does.

What the server enforces per item still applies inside the library: each entry's NFO carries the
title's official rating, so a user's parental limit hides entries above it. Per-library access is
not enforceable inside one shared library, so a title enters only if it comes from a library every
enabled user may see.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import asyncpg

from sidecar.jobs.context import JobContext, JobError
from sidecar.library.paths import UnsafePathError, join_server_path
from sidecar.library.server import ensure_library
from sidecar.library.writer import ensure_directory, manifest_hash, sync_folder
from sidecar.media.kind import MediaKind
from sidecar.media.libraries import _entry_options as entry_options
from sidecar.media.server import media_client
from sidecar.mediaserver.base import (
    Library,
    MediaServerAuthError,
    MediaServerClient,
    MediaServerError,
    normalise_id,
)
from sidecar.system import top_picks_queries as q
from sidecar.system.shared_visibility import plan_shared_visibility

TOP_PICKS_DIR = "top-picks"
HALF_LIFE_SHARE = 0.5  # a play half a window ago weighs half a play of today


@dataclass
class KindCounts:
    entries: int = 0
    entries_written: int = 0
    entries_removed: int = 0
    picks_skipped: int = 0
    library_created: bool = False
    scan_requested: bool = False
    users_seeing: int = 0
    policies_updated: int = 0
    failed: int = 0


def explanation(viewers: int, window_days: int) -> str:
    who = "1 person" if viewers == 1 else f"{viewers} people"
    when = "this month" if 28 <= window_days <= 31 else f"in the last {window_days} days"
    return f"Watched by {who} here {when}."


def _entry_rows(rows: list[asyncpg.Record], window_days: int) -> list[dict[str, Any]]:
    """The ranked rows as the kind's entry builder reads them (rank and explanation added)."""
    return [
        {**dict(r), "rank": rank, "explanation": explanation(r["viewers"], window_days)}
        for rank, r in enumerate(rows, start=1)
    ]


class _Policies:
    """Every server user's policy, read once per run (from the user listing)."""

    def __init__(self, client: MediaServerClient) -> None:
        self.client = client
        self.by_user: dict[str, dict[str, Any]] = {}

    async def load(self, concurrency: int) -> None:
        users = await self.client.list_users()
        gate = asyncio.Semaphore(concurrency)

        async def read(user_id: str) -> None:
            async with gate:
                self.by_user[user_id] = await self.client.get_user_policy(user_id)

        # The listing carries each user's policy; a user listed without one is read on its own.
        self.by_user = {u.id: dict(u.policy) for u in users if u.policy}
        await asyncio.gather(*(read(u.id) for u in users if not u.policy))

    def shared_sources(self, libraries: list[Library], enabled: set[str]) -> list[str] | None:
        """Item ids of the libraries every enabled user may see; None = all of them."""
        by_guid = {normalise_id(lib.guid): lib.item_id for lib in libraries}
        by_guid.update({normalise_id(lib.item_id): lib.item_id for lib in libraries})
        allowed: set[str] | None = None
        for user_id in enabled:
            policy = self.by_user.get(user_id)
            if policy is None or policy.get("EnableAllFolders"):
                continue
            seen = {by_guid[g] for g in map(normalise_id, policy.get("EnabledFolders") or []) if g in by_guid}
            allowed = seen if allowed is None else allowed & seen
        return None if allowed is None else sorted(allowed)


async def _refresh_kind(
    ctx: JobContext,
    kind: MediaKind,
    client: MediaServerClient | None,
    libraries: list[Library],
    policies: _Policies | None,
) -> KindCounts:
    settings = ctx.settings
    counts = KindCounts()
    enabled = {r["id"] for r in await ctx.db.fetch(kind.sql(q.ENABLED_USERS))}
    sources = policies.shared_sources(libraries, enabled) if policies is not None else None
    window = settings.top_picks_window_days
    rows = await ctx.db.fetch(
        kind.popular_query or kind.sql(q.POPULAR),
        dt.datetime.now(dt.UTC) - dt.timedelta(days=window),
        window * HALF_LIFE_SHARE,
        settings.top_picks_min_viewers,
        sources,
        settings.top_picks_count,
    )
    picks = _entry_rows(rows, window)

    root = settings.resolved_library_root
    name_key = f"{TOP_PICKS_DIR}:{kind.name}"
    parts = (TOP_PICKS_DIR, kind.name)
    if not picks and kind.tables.played and await ctx.db.fetchrow(q.GET_SHARED, name_key) is None:
        return counts  # nothing watched of this kind yet (a server without TV): no empty library
    anchor: dt.datetime = await ctx.db.fetchval(
        q.RESERVE_SHARED, name_key, kind.name, str(root.joinpath(*parts))
    )
    await asyncio.to_thread(root.mkdir, parents=True, exist_ok=True)
    built = await asyncio.to_thread(
        kind.library.build_entries, picks, entry_options(settings), anchor.replace(microsecond=0)
    )
    folder = await asyncio.to_thread(ensure_directory, root, *parts)
    stats = await asyncio.to_thread(sync_folder, root, folder, built.entries)
    await ctx.db.execute(q.RECORD_SHARED_SYNC, name_key, manifest_hash(built.entries), len(built.entries))
    counts.entries, counts.entries_written, counts.entries_removed = (
        len(built.entries),
        stats.written,
        stats.removed,
    )
    counts.picks_skipped = len(built.skipped)
    if built.skipped:
        await ctx.warning(f"{len(built.skipped)} Top Picks title(s) left out: {built.skipped[0].reason}")
    if client is None or policies is None:
        return counts

    server_path = join_server_path(settings.library_server_root or str(root), *parts)
    known = await ctx.db.fetchrow(q.GET_SHARED, name_key)
    ensured = await ensure_library(
        client,
        libraries,
        name=settings.top_picks_library_name.replace("{kind}", kind.name.title()),
        server_path=server_path,
        known_id=known["library_id"] if known else None,
        collection_type=kind.collection_type,
    )
    assert ensured is not None  # create=True
    library = ensured.library
    await ctx.db.execute(
        q.RECORD_SHARED_SERVER, name_key, library.name, library.id, library.item_id, library.guid, server_path
    )
    counts.library_created = ensured.created
    if ensured.created or stats.changed:
        await client.refresh_library(library)
        counts.scan_requested = True

    own: dict[str, set[str]] = {}
    for r in await ctx.db.fetch(q.USER_LIBRARY_GUIDS):
        own.setdefault(r["user_id"], set()).add(normalise_id(r["library_guid"]))
    ai_guids = set().union(*own.values())
    for user_id, policy in policies.by_user.items():
        visible = user_id in enabled
        counts.users_seeing += int(visible)
        updated = plan_shared_visibility(
            policy,
            guid=library.guid,
            visible=visible,
            all_guids=[lib.guid for lib in libraries],
            private_guids=ai_guids - own.get(user_id, set()),
        )
        if updated is None:
            continue
        try:
            await client.set_user_policy(user_id, updated)
            policies.by_user[user_id] = updated
            counts.policies_updated += 1
        except MediaServerAuthError:
            raise
        except MediaServerError as exc:
            await ctx.item_failed(f"showing or hiding {library.name} for user {user_id}", exc)
            counts.failed += 1
    return counts


async def refresh_top_picks(ctx: JobContext, kinds: Sequence[MediaKind]) -> dict[str, Any]:
    # Popularity is counted from plays of the kind's own items, or by the kind's own query (series:
    # viewers of a show's episodes); a kind with plays of other rows and no such query has none.
    kinds = [kind for kind in kinds if not kind.tables.played or kind.popular_query]
    result: dict[str, Any] = {}
    await ctx.step("Refreshing Top Picks", total=len(kinds))
    try:
        if ctx.settings.media_server_url or ctx.resources.media_server is not None:
            async with media_client(ctx) as client:
                libraries = await client.list_libraries()
                policies = _Policies(client)
                await policies.load(ctx.settings.media_server_concurrency)
                for kind in kinds:
                    ctx.raise_if_cancelled()
                    result[kind.name] = asdict(await _refresh_kind(ctx, kind, client, libraries, policies))
                    await ctx.advance()
        else:
            await ctx.warning(
                "no media server configured (SIDECAR_MEDIA_SERVER_URL): folders are written only"
            )
            for kind in kinds:
                result[kind.name] = asdict(await _refresh_kind(ctx, kind, None, [], None))
                await ctx.advance()
    except (OSError, UnsafePathError) as exc:
        raise JobError(
            f"could not write the Top Picks folder under {ctx.settings.resolved_library_root} ({exc}); "
            "check SIDECAR_LIBRARY_ROOT and its permissions"
        ) from None
    await ctx.info("Top Picks refreshed", **result)
    return result
