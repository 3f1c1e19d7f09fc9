"""`sync-movies`: the movies of the enabled libraries into the `movies` table.

Full run: list every enabled library page by page, write new and changed rows in bulk, then mark
removed what the server no longer has. Removal needs proof: only after the whole listing completed,
and only for ids the server confirms missing when asked for them directly (offset paging over a
library that changes during the walk can skip an item; that item must not be marked removed).
Scoped run (`{"item_ids": [...]}`): fetch just those ids, upsert them, mark removed the ones gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg

from sidecar.jobs.context import JobContext, JobError
from sidecar.media.kind import MediaKind, Step
from sidecar.mediaserver import Library, MediaServerClient, MovieItem, normalise_id
from sidecar.movies import sync_queries as q
from sidecar.movies.media_client import media_client
from sidecar.movies.movie_rows import movie_row
from sidecar.movies.source_libraries import select_movie_libraries

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

    def as_result(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "restored": self.restored,
        }


class MovieWriter:
    """Classifies incoming movies against what is stored and writes the new/changed ones in bulk."""

    def __init__(self, ctx: JobContext, known: dict[str, Known]) -> None:
        self.ctx = ctx
        self.known = known
        self.counts = SyncCounts()
        self._pending: list[tuple[Any, ...]] = []
        self._pending_kind: dict[str, str] = {}
        self._processed: set[str] = set()

    def add(self, movie: MovieItem, library_id: str | None) -> None:
        if movie.id in self._processed:  # the same id twice in one listing: keep the first
            return
        self._processed.add(movie.id)
        row = movie_row(movie, library_id)
        old = self.known.get(movie.id)
        content, sync = row[-2], row[-1]
        if old is not None and old.sync_hash == sync and not old.removed:
            self.counts.unchanged += 1
            return
        kind = "added" if old is None else ("restored" if old.removed else "updated")
        self._pending_kind[movie.id] = kind
        self._pending.append(row)
        if old is None or old.content_hash != content:
            self.counts.content_changed.append(movie.id)
        self.known[movie.id] = Known(content, sync, False)

    async def flush(self) -> None:
        rows, self._pending = self._pending, []
        if not rows:
            return
        try:
            await self._write(rows)
            written = rows
        except ROW_ERRORS as exc:
            await self.ctx.warning(f"bulk write of {len(rows)} movies failed ({exc}); retrying one by one")
            written = []
            for row in rows:
                try:
                    await self._write([row])
                    written.append(row)
                except ROW_ERRORS as row_exc:
                    self.counts.failed += 1
                    self.known.pop(row[0], None)
                    await self.ctx.item_failed(f"movie {row[0]} ({row[2]!r}) could not be saved", row_exc)
        for row in written:
            kind = self._pending_kind.pop(row[0])
            if kind == "added":
                self.counts.added += 1
                self.counts.added_ids.append(row[0])
            else:
                self.counts.updated += 1
                self.counts.restored += kind == "restored"
        self._pending_kind.clear()

    async def _write(self, rows: list[tuple[Any, ...]]) -> None:
        async with self.ctx.db.acquire() as conn, conn.transaction():
            await conn.execute(q.RELAXED_COMMIT)
            await conn.execute(q.CREATE_INCOMING)
            await conn.copy_records_to_table("movies_incoming", records=rows, columns=q.INCOMING_COLUMNS)
            await conn.execute(q.UPSERT_INCOMING)


async def _known_movies(db: asyncpg.Pool, ids: list[str] | None = None) -> dict[str, Known]:
    records = await (db.fetch(q.EXISTING_MOVIES) if ids is None else db.fetch(q.EXISTING_MOVIES_BY_ID, ids))
    return {r["id"]: Known(r["content_hash"], r["sync_hash"], r["removed"]) for r in records}


async def _enabled_libraries(ctx: JobContext, client: MediaServerClient) -> list[Library]:
    selection = select_movie_libraries(await client.list_libraries(), ctx.settings)
    if selection.unmatched:
        await ctx.warning(
            "configured movie libraries not found on the media server: "
            + ", ".join(selection.unmatched)
            + "; check SIDECAR_MOVIE_LIBRARIES"
        )
    if not selection.chosen:
        if ctx.settings.movie_libraries:
            raise JobError(
                "none of the configured movie libraries exist on the media server; "
                "check SIDECAR_MOVIE_LIBRARIES (names or ids)"
            )
        raise JobError("the media server has no movie library; create one or set SIDECAR_MOVIE_LIBRARIES")
    return selection.chosen


async def _mark_removed(ctx: JobContext, ids: list[str], counts: SyncCounts) -> None:
    if not ids:
        return
    removed = [r["id"] for r in await ctx.db.fetch(q.MARK_REMOVED, ids)]
    counts.removed += len(removed)
    counts.removed_ids.extend(removed)


async def _sync_all(ctx: JobContext, client: MediaServerClient) -> SyncCounts:
    await ctx.step("Listing libraries")
    libraries = await _enabled_libraries(ctx, client)
    await ctx.info("syncing movie libraries", libraries=[lib.name for lib in libraries])
    writer = MovieWriter(ctx, await _known_movies(ctx.db))
    active_before = {movie_id for movie_id, known in writer.known.items() if not known.removed}
    seen: set[str] = set()
    totals: dict[str, int] = {}
    await ctx.step("Fetching movies", reset_counts=True)
    async for page in client.iter_movies([lib.item_id for lib in libraries]):
        ctx.raise_if_cancelled()
        library_id = getattr(page, "library_id", None)
        if library_id is not None and isinstance(getattr(page, "total", None), int):
            totals[library_id] = page.total  # type: ignore[attr-defined]
            await ctx.set_total(sum(totals.values()))
        for movie in page:
            seen.add(movie.id)
            writer.add(movie, movie.library_id or library_id)
        await writer.flush()  # one COPY + upsert per page: a stopped run keeps what it fetched
        await ctx.advance(len(page))
    await writer.flush()
    ctx.raise_if_cancelled()

    # The listing completed: what it did not return is a removal candidate, confirmed one by one.
    candidates = sorted(active_before - seen)
    if candidates:
        await ctx.step("Checking removed movies", total=len(candidates), reset_counts=True)
        enabled = {lib.item_id for lib in libraries}
        still_there = [m for m in await client.get_movies(candidates) if m.library_id in enabled]
        for movie in still_there:
            writer.add(movie, movie.library_id)
        await writer.flush()
        found = {m.id for m in still_there}
        if found:
            await ctx.info(f"{len(found)} movies missed by the paged listing are still on the server")
        await _mark_removed(ctx, [i for i in candidates if i not in found], writer.counts)
        await ctx.advance(len(candidates))
    return writer.counts


async def _sync_items(ctx: JobContext, client: MediaServerClient, item_ids: list[str]) -> SyncCounts:
    ids = list(dict.fromkeys(normalise_id(str(i)) for i in item_ids))
    await ctx.step("Fetching movies", total=len(ids), reset_counts=True)
    libraries = await _enabled_libraries(ctx, client)
    enabled = {lib.item_id for lib in libraries}
    movies = [m for m in await client.get_movies(ids) if m.library_id in enabled]
    writer = MovieWriter(ctx, await _known_movies(ctx.db, ids))
    for movie in movies:
        writer.add(movie, movie.library_id)
    await writer.flush()
    found = {m.id for m in movies}
    await _mark_removed(ctx, [i for i in ids if i not in found], writer.counts)
    await ctx.advance(len(ids))
    return writer.counts


async def sync_movies(ctx: JobContext, kind: MediaKind) -> dict[str, Any]:
    scope = ctx.scope or {}
    if ctx.scope is not None and not scope.get("item_ids"):
        await ctx.info("scope names no movies; nothing to sync", scope=ctx.scope)
        return SyncCounts().as_result()
    async with media_client(ctx) as client:
        if ctx.scope is None:
            counts = await _sync_all(ctx, client)
        else:
            counts = await _sync_items(ctx, client, list(scope["item_ids"]))
            if counts.content_changed:
                ctx.follow_up(kind.job(Step.EMBEDDINGS), scope={"item_ids": counts.content_changed})
            if counts.removed_ids:
                ctx.follow_up(kind.job(Step.RECOMMENDATIONS), scope={"item_ids": counts.removed_ids})
    await ctx.info("movies synced", **counts.as_result())
    return counts.as_result()
