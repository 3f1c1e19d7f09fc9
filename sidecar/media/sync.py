"""The sync step (`sync-movies`, ...): the items of a kind's enabled libraries into its items table.

Full run: list every enabled library page by page, write new and changed rows in bulk, then mark
removed what the server no longer has. Removal needs proof: only after the whole listing completed,
and only for ids the server confirms missing when asked for them directly (offset paging over a
library that changes during the walk can skip an item; that item must not be marked removed).
Scoped run (`{"item_ids": [...]}`): fetch just those ids, upsert them, mark removed the ones gone.
What a row holds and how it is upserted is the kind's (`MediaKind.catalogue`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from sidecar.db import relaxed_transaction
from sidecar.jobs.context import JobContext, JobError
from sidecar.media import library_queries
from sidecar.media import sync_queries as q
from sidecar.media.kind import Catalogue, CatalogueRow, MediaKind, Step
from sidecar.media.server import media_client
from sidecar.media.source_libraries import select_libraries
from sidecar.media.tables import KindTables
from sidecar.mediaserver import Library, MediaServerClient, normalise_id

# What one bad row can raise: the server rejecting a value, or asyncpg unable to encode it.
ROW_ERRORS = (asyncpg.PostgresError, ValueError, TypeError, OverflowError)


@dataclass
class Known:
    content_hash: str
    sync_hash: str | None
    removed: bool


@dataclass
class SyncCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    restored: int = 0
    failed: int = 0
    content_changed: list[str] = field(default_factory=list)  # new or new embedding text
    added_ids: list[str] = field(default_factory=list)
    removed_ids: list[str] = field(default_factory=list)
    written_ids: list[str] = field(default_factory=list)  # added, updated or restored

    def as_result(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "restored": self.restored,
        }


class ItemWriter:
    """Classifies incoming items against what is stored and writes the new/changed ones in bulk."""

    def __init__(self, ctx: JobContext, level: Level, known: dict[str, Known]) -> None:
        self.ctx = ctx
        self.catalogue = level.catalogue
        self.label = level.label
        self.known = known
        self.counts = SyncCounts()
        self._pending: list[CatalogueRow] = []
        self._pending_kind: dict[str, str] = {}
        self._processed: set[str] = set()

    def add(self, item: Any, library_id: str | None) -> None:
        if item.id in self._processed:  # the same id twice in one listing: keep the first
            return
        self._processed.add(item.id)
        row = self.catalogue.row(item, library_id)
        old = self.known.get(row.id)
        if old is not None and old.sync_hash == row.sync_hash and not old.removed:
            self.counts.unchanged += 1
            return
        change = "added" if old is None else ("restored" if old.removed else "updated")
        self._pending_kind[row.id] = change
        self._pending.append(row)
        if old is None or old.content_hash != row.content_hash:
            self.counts.content_changed.append(row.id)
        self.known[row.id] = Known(row.content_hash, row.sync_hash, False)

    async def flush(self) -> None:
        rows, self._pending = self._pending, []
        if not rows:
            return
        try:
            await self._write(rows)
            written = rows
        except ROW_ERRORS as exc:
            await self.ctx.warning(
                f"bulk write of {len(rows)} {self.label} failed ({exc}); retrying one by one"
            )
            written = []
            for row in rows:
                try:
                    await self._write([row])
                    written.append(row)
                except ROW_ERRORS as row_exc:
                    self.counts.failed += 1
                    self.known.pop(row.id, None)
                    await self.ctx.item_failed(
                        f"{self.label} {row.id} ({row.title!r}) could not be saved", row_exc
                    )
        for row in written:
            change = self._pending_kind.pop(row.id)
            self.counts.written_ids.append(row.id)
            if change == "added":
                self.counts.added += 1
                self.counts.added_ids.append(row.id)
            else:
                self.counts.updated += 1
                self.counts.restored += change == "restored"
        self._pending_kind.clear()

    async def _write(self, rows: list[CatalogueRow]) -> None:
        catalogue = self.catalogue
        async with relaxed_transaction(self.ctx.db) as conn:
            await conn.execute(catalogue.create_incoming)
            await conn.copy_records_to_table("incoming", records=rows, columns=catalogue.columns)
            await conn.execute(catalogue.upsert_incoming)


@dataclass(frozen=True)
class Level:
    """One level of a kind's catalogue (the items; a series' episodes) and the table it fills."""

    catalogue: Catalogue
    tables: KindTables  # `items` = this level's table
    label: str  # plural, for messages ("movies", "episodes")


def levels(kind: MediaKind) -> list[Level]:
    """The kind's items, then each child level under them, in sync order."""
    found = [Level(kind.catalogue, kind.tables, kind.name)]
    child = kind.catalogue.children
    while child is not None:
        table = child.table or kind.tables.items
        found.append(Level(child, dataclasses.replace(kind.tables, items=table), table))
        child = child.children
    return found


async def _known_items(db: asyncpg.Pool, level: Level, ids: list[str] | None = None) -> dict[str, Known]:
    if ids is None:
        records = await db.fetch(level.tables.sql(q.EXISTING_ITEMS))
    else:
        records = await db.fetch(level.tables.sql(q.EXISTING_ITEMS_BY_ID), ids)
    return {r["id"]: Known(r["content_hash"], r["sync_hash"], r["removed"]) for r in records}


async def source_libraries(ctx: JobContext, kind: MediaKind, client: MediaServerClient) -> list[Library]:
    """The libraries this kind's catalogue comes from (JobError when there are none)."""
    own_ids = {normalise_id(r["id"]) for r in await ctx.db.fetch(library_queries.OWN_LIBRARY_IDS)}
    selection = select_libraries(
        await client.list_libraries(), ctx.settings, kind, ctx.resources.kinds, own_ids
    )
    setting = kind.source_libraries_setting
    if selection.unmatched:
        await ctx.warning(
            f"configured {kind.singular} libraries not found on the media server: "
            + ", ".join(selection.unmatched)
            + f"; check {setting}"
        )
    if not selection.chosen:
        if kind.source_libraries(ctx.settings):
            raise JobError(
                f"none of the configured {kind.singular} libraries exist on the media server; "
                f"check {setting} (names or ids)"
            )
        raise JobError(f"the media server has no {kind.singular} library; create one or set {setting}")
    return selection.chosen


async def _mark_removed(ctx: JobContext, level: Level, ids: list[str], counts: SyncCounts) -> None:
    if not ids:
        return
    removed = [r["id"] for r in await ctx.db.fetch(level.tables.sql(q.MARK_REMOVED), ids)]
    counts.removed += len(removed)
    counts.removed_ids.extend(removed)


async def _sync_all(ctx: JobContext, kind: MediaKind, client: MediaServerClient) -> list[SyncCounts]:
    await ctx.step("Listing libraries")
    libraries = await source_libraries(ctx, kind, client)
    await ctx.info(f"syncing {kind.singular} libraries", libraries=[lib.name for lib in libraries])
    return [await _sync_level(ctx, level, client, libraries) for level in levels(kind)]


async def _sync_level(
    ctx: JobContext, level: Level, client: MediaServerClient, libraries: list[Library]
) -> SyncCounts:
    label = level.label
    writer = ItemWriter(ctx, level, await _known_items(ctx.db, level))
    active_before = {item_id for item_id, known in writer.known.items() if not known.removed}
    seen: set[str] = set()
    totals: dict[str, int] = {}
    await ctx.step(f"Fetching {label}", reset_counts=True)
    async for page in level.catalogue.list_items(client, [lib.item_id for lib in libraries]):
        ctx.raise_if_cancelled()
        library_id = getattr(page, "library_id", None)
        if library_id is not None and isinstance(getattr(page, "total", None), int):
            totals[library_id] = page.total  # type: ignore[attr-defined]
            await ctx.set_total(sum(totals.values()))
        for item in page:
            seen.add(item.id)
            writer.add(item, item.library_id or library_id)
        await writer.flush()  # one COPY + upsert per page: a stopped run keeps what it fetched
        await ctx.advance(len(page))
    await writer.flush()
    ctx.raise_if_cancelled()

    # The listing completed: what it did not return is a removal candidate, confirmed one by one.
    candidates = sorted(active_before - seen)
    if candidates:
        await ctx.step(f"Checking removed {label}", total=len(candidates), reset_counts=True)
        enabled = {lib.item_id for lib in libraries}
        still_there = [
            m for m in await level.catalogue.get_items(client, candidates) if m.library_id in enabled
        ]
        for item in still_there:
            writer.add(item, item.library_id)
        await writer.flush()
        found = {m.id for m in still_there}
        if found:
            await ctx.info(f"{len(found)} {label} missed by the paged listing are still on the server")
        await _mark_removed(ctx, level, [i for i in candidates if i not in found], writer.counts)
        await ctx.advance(len(candidates))
    return writer.counts


async def _sync_items(
    ctx: JobContext, kind: MediaKind, client: MediaServerClient, item_ids: list[str]
) -> list[SyncCounts]:
    """Just these ids, at every level (a webhook names a show or an episode: each level takes its own)."""
    ids = list(dict.fromkeys(normalise_id(str(i)) for i in item_ids))
    await ctx.step(f"Fetching {kind.name}", total=len(ids), reset_counts=True)
    libraries = await source_libraries(ctx, kind, client)
    enabled = {lib.item_id for lib in libraries}
    all_counts = []
    for level in levels(kind):
        items = [m for m in await level.catalogue.get_items(client, ids) if m.library_id in enabled]
        writer = ItemWriter(ctx, level, await _known_items(ctx.db, level, ids))
        for item in items:
            writer.add(item, item.library_id)
        await writer.flush()
        found = {m.id for m in items}
        await _mark_removed(ctx, level, [i for i in ids if i not in found], writer.counts)
        all_counts.append(writer.counts)
    await ctx.advance(len(ids))
    return all_counts


async def _refresh_libraries_of_changed_children(
    ctx: JobContext, kind: MediaKind, children: list[SyncCounts]
) -> None:
    """A child added, changed or removed under an item that is someone's pick (a new episode of a
    show in their AI library) changes that library's entries: rewrite those users' libraries now,
    not at the next full run. Their picks stay as they are."""
    users: set[str] = set()
    for level, counts in zip(levels(kind)[1:], children, strict=True):
        changed = [*counts.written_ids, *counts.removed_ids]
        if changed:
            users.update(
                r["user_id"] for r in await ctx.db.fetch(level.tables.sql(q.USERS_PICKED_ABOVE), changed)
            )
    if users:
        ctx.follow_up(kind.job(Step.LIBRARIES), scope={"user_ids": sorted(users)})


async def sync_items(ctx: JobContext, kind: MediaKind) -> dict[str, Any]:
    scope = ctx.scope or {}
    if ctx.scope is not None and not scope.get("item_ids"):
        await ctx.info(f"scope names no {kind.name}; nothing to sync", scope=ctx.scope)
        return SyncCounts().as_result()
    async with media_client(ctx) as client:
        if ctx.scope is None:
            counts, *children = await _sync_all(ctx, kind, client)
        else:
            counts, *children = await _sync_items(ctx, kind, client, list(scope["item_ids"]))
            if counts.content_changed:
                ctx.follow_up(kind.job(Step.EMBEDDINGS), scope={"item_ids": counts.content_changed})
            if counts.removed_ids:
                ctx.follow_up(kind.job(Step.RECOMMENDATIONS), scope={"item_ids": counts.removed_ids})
    await _refresh_libraries_of_changed_children(ctx, kind, children)
    result = counts.as_result()
    for level, child in zip(levels(kind)[1:], children, strict=True):
        result[level.label] = child.as_result()
    await ctx.info(f"{kind.name} synced", **result)
    return result
