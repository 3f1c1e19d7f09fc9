"""The watch-history step (`sync-movie-watch-history`, ...): users, and what each enabled user has
watched of a kind.

Users: every server user is stored (new ones get `enabled = settings.new_users_enabled`; disabled
server users are kept with `is_disabled` and never processed; users gone from the server get
`removed_at`). Then, per enabled user, with `media_server_concurrency` users in flight:

* `regular`: played items newest first, stopping at the user's watermark for the kind minus
  a day of slack (the server's clock and ours differ), plus a re-read of the favourites list (one
  cheap query) so favourite on/off is always current. What regular can miss: a movie marked
  *unplayed* (it leaves the played list), a rating given to a movie played before the watermark, and
  resume positions of unfinished movies. Webhooks and the `full` variant cover those.
* `full`: every played and favourite movie; rows for anything else are deleted for that user.

Scopes: `user_ids` limits the users; with `item_ids` only those items' user data is re-read.
One user's failure is counted and logged and the others go on; a user's plays are written in one
transaction after that user's listing completed, and the watermark moves only then.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from sidecar.db import relaxed_transaction
from sidecar.jobs.context import JobCancelled, JobContext, JobError
from sidecar.media import history_queries as q
from sidecar.media.copies import Originals, fold_copies, load_originals, mark_originals
from sidecar.media.kind import MediaKind, Step
from sidecar.media.server import media_client
from sidecar.media.sync import ROW_ERRORS, source_libraries
from sidecar.media.users import NoUsersListed, store_users
from sidecar.mediaserver import (
    MediaServerAuthError,
    MediaServerClient,
    MediaServerError,
    UserAccess,
    UserMovieData,
    normalise_id,
)

WATERMARK_SLACK = dt.timedelta(days=1)


@dataclass
class HistoryCounts:
    users_on_server: int = 0
    users_removed: int = 0
    users_processed: int = 0
    users_failed: int = 0
    users_skipped: int = 0
    plays_written: int = 0
    plays_removed: int = 0
    skipped_unknown_movies: int = 0
    copies_counted: int = 0  # copies in AI Picks libraries whose state was counted for their originals
    copies_orphaned: int = 0  # copies whose original is not in the catalogue
    originals_marked: int = 0  # originals marked played / favourite on the server for their copy's play
    marks_failed: int = 0
    changed_user_ids: set[str] = field(default_factory=set)  # whose stored plays differ after the run

    def as_result(self) -> dict[str, Any]:
        return {
            "users_on_server": self.users_on_server,
            "users_removed": self.users_removed,
            "users_processed": self.users_processed,
            "users_failed": self.users_failed,
            "users_skipped": self.users_skipped,
            "plays_written": self.plays_written,
            "plays_removed": self.plays_removed,
            "skipped_unknown_movies": self.skipped_unknown_movies,
            "copies_counted": self.copies_counted,
            "copies_orphaned": self.copies_orphaned,
            "originals_marked": self.originals_marked,
            "marks_failed": self.marks_failed,
            "users_changed": len(self.changed_user_ids),
        }


def _is_empty(data: UserMovieData) -> bool:
    return not (data.played or data.is_favorite or data.play_count or data.position_ticks) and (
        data.user_rating is None
    )


def _row(data: UserMovieData) -> tuple[Any, ...]:
    return (
        data.user_id,
        data.movie_id,
        data.played,
        data.play_count,
        data.last_played_at,
        data.is_favorite,
        data.user_rating,
        data.position_ticks,
    )


async def _sync_users(ctx: JobContext, client: MediaServerClient, counts: HistoryCounts) -> None:
    """The users must be current before their plays are read: stored as sync-users stores them."""
    await ctx.step("Syncing users")
    users = await client.list_users()
    counts.users_on_server = len(users)
    try:
        stored = await store_users(ctx.db, users, new_users_enabled=ctx.settings.new_users_enabled)
    except NoUsersListed as exc:
        raise JobError(str(exc)) from None
    for user_id, problem in stored.failed.items():
        counts.users_failed += 1
        await ctx.warning("user skipped: the database refused it", user_id=user_id, error=problem)
    counts.users_removed = len(stored.removed)
    if stored.removed:
        await ctx.info(
            f"{len(stored.removed)} users are no longer on the media server",
            user_ids=[r["id"] for r in stored.removed],
        )


@dataclass
class UserResult:
    """One user's fetched state, waiting to be written (all of it, or none)."""

    user_id: str
    name: str
    plays: dict[str, UserMovieData]
    keep_only: bool = False  # full: delete this user's rows that are not in `plays`
    favourites_read: bool = False  # regular: `plays` holds every favourite
    delete_ids: list[str] = field(default_factory=list)
    watermark: dt.datetime | None = None
    # What the server shows the user, when their policy restricts it (None: everything); read by
    # unscoped runs only (`visibility_read`), so a webhook's small run keeps the stored list.
    visible: list[str] | None = None
    visibility_read: bool = False
    favourite_items: list[str] | None = None  # the kind's own items marked favourite (None: not read)


class UserHistorySync:
    """Fetches users' plays (several users in flight) and writes them in batches of users.

    Batching matters: one transaction per user costs a dozen round trips, which for hundreds of
    users dominates the run. A batch that fails is retried user by user, so one bad user is
    isolated and counted while the others are saved.
    """

    def __init__(
        self, ctx: JobContext, kind: MediaKind, client: MediaServerClient, originals: Originals
    ) -> None:
        self.ctx = ctx
        self.kind = kind
        self.client = client
        self.originals = originals
        self.counts = HistoryCounts()
        self.source_guids: frozenset[str] = frozenset()  # the kind's source libraries (policy ids)
        # What picks are made of: the played items themselves, or (series) the shows of the episodes.
        self.catalogue_ids: frozenset[str] = originals.ids

    async def _fold_copies(self, user_id: str, plays: dict[str, UserMovieData]) -> dict[str, UserMovieData]:
        """Count the user's plays of copies for their originals, and mark the originals on the server."""

        async def read_originals(ids: list[str]) -> list[UserMovieData]:
            return await self.kind.history.get_user_data(self.client, user_id, ids)

        folded = await fold_copies(plays, self.originals, self.ctx.settings, read_originals)
        self.counts.copies_counted += folded.copies
        self.counts.copies_orphaned += folded.orphans
        if folded.marks and self.ctx.settings.mark_originals_played:
            made, errors = await mark_originals(self.ctx.db, self.client, folded.marks)
            self.counts.originals_marked += made
            self.counts.marks_failed += len(errors)
            if errors:
                await self.ctx.warning(
                    f"could not mark {len(errors)} original(s) played for user {user_id} on the media "
                    f"server (the plays are counted here): {errors[0]}",
                    user_id=user_id,
                )
        return folded.plays

    async def fetch_history(self, user: asyncpg.Record, *, full: bool) -> UserResult:
        started = dt.datetime.now(dt.UTC)
        watermark = user["history_synced_at"]
        since = None if full or watermark is None else watermark - WATERMARK_SLACK
        plays: dict[str, UserMovieData] = {}
        history = self.kind.history
        async for page in history.iter_played(self.client, user["id"], since):
            self.ctx.raise_if_cancelled()
            for data in page:
                plays.setdefault(data.movie_id, data)
        iter_favourites = history.favourites(self.client)
        if iter_favourites is not None:
            # A complete played list already carries the played favourites: add the unplayed ones.
            async for page in iter_favourites(user["id"], since is None):
                self.ctx.raise_if_cancelled()
                for data in page:
                    plays.setdefault(data.movie_id, data)
        if history.resumable is not None:  # started, not finished: part of the state too
            async for page in history.resumable(self.client, user["id"]):
                self.ctx.raise_if_cancelled()
                for data in page:
                    plays.setdefault(data.movie_id, data)
        return UserResult(
            user["id"],
            user["name"],
            await self._fold_copies(user["id"], plays),
            keep_only=full,
            favourites_read=iter_favourites is not None,
            watermark=started,
            visible=await self._visible_ids(user) if self._restricted(user) else None,
            visibility_read=True,
            favourite_items=await self._favourite_items(user["id"]),
        )

    async def _favourite_items(self, user_id: str) -> list[str] | None:
        """The kind's own items (shows) the user marked favourite, when the kind reads them."""
        if self.kind.history.favourite_items is None:
            return None
        ids: set[str] = set()
        async for page in self.kind.history.favourite_items(self.client, user_id):
            self.ctx.raise_if_cancelled()
            ids.update(i for i in page if i in self.catalogue_ids)
        return sorted(ids)

    def _restricted(self, user: asyncpg.Record) -> bool:
        if self.kind.history.visible_ids is None:  # a kind that cannot ask the server (yet)
            return False
        return UserAccess.from_json(user["access"]).hides_from(self.source_guids)

    async def _visible_ids(self, user: asyncpg.Record) -> list[str]:
        """The catalogue ids the server shows a restricted user (its policy applied by the server).
        Only catalogue items: the user's own AI Picks copies come and go with every library write."""
        ids: set[str] = set()
        assert self.kind.history.visible_ids is not None
        async for page in self.kind.history.visible_ids(self.client, user["id"]):
            self.ctx.raise_if_cancelled()
            ids.update(i for i in page if i in self.catalogue_ids)
        return sorted(ids)

    async def fetch_items(self, user: asyncpg.Record, item_ids: list[str]) -> UserResult:
        """Just these items' user data (webhook-driven); the watermark does not move."""
        found = {
            d.movie_id: d for d in await self.kind.history.get_user_data(self.client, user["id"], item_ids)
        }
        found = await self._fold_copies(user["id"], found)
        gone = [i for i in item_ids if i in self.originals.ids and (i not in found or _is_empty(found[i]))]
        # An event about one of the kind's own items (a show marked favourite): re-read that list.
        own = any(i in self.catalogue_ids and i not in self.originals.ids for i in item_ids)
        favourites = await self._favourite_items(user["id"]) if own else None
        return UserResult(user["id"], user["name"], found, delete_ids=gone, favourite_items=favourites)

    async def write(self, results: list[UserResult]) -> None:
        rows: list[tuple[Any, ...]] = []
        unknown = 0
        for result in results:
            known = [d for d in result.plays.values() if d.movie_id in self.originals.ids]
            unknown += len(result.plays) - len(known)
            rows.extend(_row(d) for d in known if not _is_empty(d))
        deletes = [(r.user_id, i) for r in results for i in r.delete_ids]
        marks = [(r.user_id, r.watermark) for r in results if r.watermark is not None]
        removed = 0
        changed: set[str] = set()
        sql = self.kind.sql
        async with relaxed_transaction(self.ctx.db) as conn:
            await conn.execute(q.CREATE_INCOMING)
            if rows:
                await conn.copy_records_to_table("plays_incoming", records=rows, columns=q.PLAY_COLUMNS)
                changed.update(r["user_id"] for r in await conn.fetch(sql(q.UPSERT_INCOMING)))
            favourite_users = [r.user_id for r in results if r.favourites_read]
            if favourite_users:
                changed.update(
                    r["user_id"] for r in await conn.fetch(sql(q.CLEAR_OTHER_FAVOURITES), favourite_users)
                )
            full_users = [r.user_id for r in results if r.keep_only]
            if full_users:
                gone = await conn.fetch(sql(q.DELETE_OTHER_PLAYS), full_users)
                removed += len(gone)
                changed.update(r["user_id"] for r in gone)
            if deletes:
                gone = await conn.fetch(sql(q.DELETE_PLAYS), [d[0] for d in deletes], [d[1] for d in deletes])
                removed += len(gone)
                changed.update(r["user_id"] for r in gone)
            if marks:
                await conn.execute(
                    q.SET_WATERMARKS, [m[0] for m in marks], [m[1] for m in marks], self.kind.name
                )
            changed.update(await self._write_visibility(conn, results))
            for result in results:
                if result.favourite_items is not None and await conn.fetchval(
                    q.SET_FAVOURITE_ITEMS, result.user_id, self.kind.name, result.favourite_items
                ):
                    changed.add(result.user_id)
        self.counts.plays_written += len(rows)
        self.counts.plays_removed += removed
        self.counts.changed_user_ids.update(changed)
        self.counts.skipped_unknown_movies += unknown

    async def _write_visibility(self, conn: asyncpg.Connection, results: list[UserResult]) -> set[str]:
        """Store what restricted users may see; returns the users whose list changed (their picks
        must be redone: a pick they may no longer see must go, and new items may come in)."""
        changed: set[str] = set()
        kind = self.kind.name
        for result in results:
            if result.visible is not None and await conn.fetchval(
                q.SET_VISIBLE_ITEMS, result.user_id, kind, result.visible
            ):
                changed.add(result.user_id)
        free = [r.user_id for r in results if r.visibility_read and r.visible is None]
        if free:
            changed.update(r["user_id"] for r in await conn.fetch(q.CLEAR_VISIBLE_ITEMS, free, kind))
        return changed


WRITE_BATCH_USERS = 50
WRITE_BATCH_ROWS = 20_000
_DONE = None


async def _write_batches(
    ctx: JobContext, sync: UserHistorySync, results: asyncio.Queue[UserResult | None]
) -> None:
    """Drain `results` into batched transactions until the end marker."""
    finished = False
    while not finished:
        first = await results.get()
        if first is _DONE:
            return
        batch = [first]
        size = len(first.plays)
        while len(batch) < WRITE_BATCH_USERS and size < WRITE_BATCH_ROWS and not results.empty():
            more = results.get_nowait()
            if more is _DONE:
                finished = True
                break
            batch.append(more)
            size += len(more.plays)
        try:
            await sync.write(batch)
            written = batch
        except (*ROW_ERRORS, OSError) as exc:
            await ctx.warning(f"saving the plays of {len(batch)} users failed ({exc}); retrying user by user")
            written = []
            for result in batch:
                try:
                    await sync.write([result])
                    written.append(result)
                except (*ROW_ERRORS, OSError) as user_exc:
                    sync.counts.users_failed += 1
                    await ctx.item_failed(
                        f"saving the plays of user {result.name} ({result.user_id}) failed", user_exc
                    )
        sync.counts.users_processed += len(written)
        await ctx.advance(len(written))


async def _run_users(
    ctx: JobContext, sync: UserHistorySync, users: list[asyncpg.Record], item_ids: list[str] | None
) -> None:
    pending: asyncio.Queue[asyncpg.Record] = asyncio.Queue()
    for user in users:
        pending.put_nowait(user)
    results: asyncio.Queue[UserResult | None] = asyncio.Queue(maxsize=4 * WRITE_BATCH_USERS)
    full = ctx.variant == "full"

    async def fetcher() -> None:
        while not pending.empty():
            ctx.raise_if_cancelled()
            user = pending.get_nowait()
            try:
                if item_ids is not None:
                    result = await sync.fetch_items(user, item_ids)
                else:
                    result = await sync.fetch_history(user, full=full)
            except (JobCancelled, MediaServerAuthError):
                raise  # cancelled, or the key is wrong for everyone: stop at once
            except (MediaServerError, OSError, ValueError) as exc:
                sync.counts.users_failed += 1
                await ctx.item_failed(f"watch history of user {user['name']} ({user['id']}) failed", exc)
                continue
            await results.put(result)

    writer = asyncio.create_task(_write_batches(ctx, sync, results))
    fetchers = [asyncio.create_task(fetcher()) for _ in range(max(1, ctx.settings.media_server_concurrency))]

    async def feed() -> None:
        await asyncio.gather(*fetchers)
        await results.put(_DONE)

    feeding = asyncio.create_task(feed())
    try:
        await asyncio.gather(feeding, writer)  # the first failure of either surfaces at once
    finally:
        feeding.cancel()
        for task in [*fetchers, writer]:
            task.cancel()
        await asyncio.gather(*fetchers, writer, return_exceptions=True)


async def sync_watch_history(ctx: JobContext, kind: MediaKind) -> dict[str, Any]:
    scope = ctx.scope or {}
    user_scope = [normalise_id(str(u)) for u in scope.get("user_ids") or []] or None
    item_scope = [normalise_id(str(i)) for i in scope.get("item_ids") or []] or None
    async with media_client(ctx) as client:
        counts = HistoryCounts()
        await _sync_users(ctx, client, counts)
        users = await ctx.db.fetch(kind.sql(q.USERS_TO_PROCESS), user_scope, kind.name)
        skipped = await ctx.db.fetch(kind.sql(q.SKIPPED_USERS), user_scope)
        if skipped:
            await ctx.info(
                f"{len(skipped)} users skipped (disabled on the server, not enabled for picks, or removed)",
                user_ids=[r["id"] for r in skipped],
            )
        originals = await load_originals(ctx.db, kind, ctx.resources.originals)
        sync = UserHistorySync(ctx, kind, client, originals)
        if kind.tables.played:  # plays of other rows (episodes): visibility is of the items (shows)
            sync.catalogue_ids = frozenset(r["id"] for r in await ctx.db.fetch(kind.sql(q.CATALOGUE_IDS)))
        sync.source_guids = frozenset(lib.guid for lib in await source_libraries(ctx, kind, client))
        sync.counts = counts
        counts.users_skipped = len(skipped)
        await ctx.step("Syncing watch history", total=len(users), reset_counts=True)
        await _run_users(ctx, sync, users, item_scope)
    if kind.history.derive is not None and users:
        # Rebuilt for every user of the run, changed or not: time alone turns watching into dropped.
        await ctx.step(f"Deriving {kind.singular} states")
        await kind.history.derive(ctx.db, ctx.settings, [u["id"] for u in users])
    if counts.skipped_unknown_movies:
        await ctx.info(
            f"{counts.skipped_unknown_movies} plays skipped: their {kind.name} are not in the "
            f"{kind.tables.items} table (not in a synced library, or {kind.job(Step.SYNC)} has not run "
            "since they were added)"
        )
    # Whatever the scope: a scheduled run that finds plays no webhook reported (or one a webhook's work
    # joined while it was queued) must refresh those users' picks too, not leave them for the weekly run.
    if counts.changed_user_ids:
        ctx.follow_up(kind.job(Step.RECOMMENDATIONS), scope={"user_ids": sorted(counts.changed_user_ids)})
    await ctx.info("watch history synced", **counts.as_result())
    return counts.as_result()
