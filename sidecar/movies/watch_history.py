"""`sync-movie-watch-history`: users, and what each enabled user has watched.

Users: every server user is stored (new ones get `enabled = settings.new_users_enabled`; disabled
server users are kept with `is_disabled` and never processed; users gone from the server get
`removed_at`). Then, per enabled user, with `media_server_concurrency` users in flight:

* `regular`: played movies newest first, stopping at the user's `history_synced_at` watermark minus
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

from sidecar.jobs.context import JobCancelled, JobContext
from sidecar.mediaserver import (
    MediaServerAuthError,
    MediaServerClient,
    MediaServerError,
    UserMovieData,
    normalise_id,
)
from sidecar.movies import history_queries as q
from sidecar.movies.media_client import media_client

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
    ok_user_ids: list[str] = field(default_factory=list)

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
    await ctx.step("Syncing users")
    users = await client.list_users()
    counts.users_on_server = len(users)
    enabled_default = ctx.settings.new_users_enabled
    await ctx.db.executemany(
        q.UPSERT_USERS, [(u.id, u.name, u.is_admin, u.is_disabled, enabled_default) for u in users]
    )
    removed = await ctx.db.fetch(q.MARK_USERS_REMOVED, [u.id for u in users])
    counts.users_removed = len(removed)
    if removed:
        await ctx.info(
            f"{len(removed)} users are no longer on the media server", user_ids=[r["id"] for r in removed]
        )


class UserHistorySync:
    """Reads and writes one user's plays at a time; shared state is the counters."""

    def __init__(self, ctx: JobContext, client: MediaServerClient, known_movies: set[str]) -> None:
        self.ctx = ctx
        self.client = client
        self.known_movies = known_movies
        self.counts = HistoryCounts()
        self._lock = asyncio.Lock()

    async def _write(
        self,
        user_id: str,
        plays: dict[str, UserMovieData],
        *,
        keep_only: bool = False,
        favourites: set[str] | None = None,
        delete_ids: list[str] | None = None,
        watermark: dt.datetime | None = None,
    ) -> None:
        known = [d for d in plays.values() if d.movie_id in self.known_movies]
        unknown = len(plays) - len(known)
        rows = [_row(d) for d in known if not _is_empty(d)]
        async with self.ctx.db.acquire() as conn, conn.transaction():
            removed = 0
            if rows:
                await conn.execute(q.CREATE_INCOMING)
                await conn.copy_records_to_table("plays_incoming", records=rows, columns=q.PLAY_COLUMNS)
                await conn.execute(q.UPSERT_INCOMING)
            if favourites is not None:
                await conn.execute(q.CLEAR_OTHER_FAVOURITES, user_id, sorted(favourites))
            if keep_only:
                status = await conn.execute(q.DELETE_OTHER_PLAYS, user_id, [r[1] for r in rows])
                removed += int(status.split()[-1])
            if delete_ids:
                status = await conn.execute(q.DELETE_PLAYS, user_id, delete_ids)
                removed += int(status.split()[-1])
            if watermark is not None:
                await conn.execute(q.SET_WATERMARK, user_id, watermark)
        async with self._lock:
            self.counts.plays_written += len(rows)
            self.counts.plays_removed += removed
            self.counts.skipped_unknown_movies += unknown

    async def history(self, user: asyncpg.Record, *, full: bool) -> None:
        started = dt.datetime.now(dt.UTC)
        watermark = user["history_synced_at"]
        since = None if full or watermark is None else watermark - WATERMARK_SLACK
        plays: dict[str, UserMovieData] = {}
        async for page in self.client.iter_played_movies(user["id"], since):
            self.ctx.raise_if_cancelled()
            for data in page:
                plays.setdefault(data.movie_id, data)
        favourites: set[str] | None = None
        iter_favourites = getattr(self.client, "iter_favorite_movies", None)
        if iter_favourites is not None:
            favourites = set()
            async for page in iter_favourites(user["id"]):
                self.ctx.raise_if_cancelled()
                for data in page:
                    favourites.add(data.movie_id)
                    plays.setdefault(data.movie_id, data)
        await self._write(user["id"], plays, keep_only=full, favourites=favourites, watermark=started)

    async def items(self, user: asyncpg.Record, item_ids: list[str]) -> None:
        """Re-read just these items' user data (webhook-driven); the watermark does not move."""
        found = {d.movie_id: d for d in await self.client.get_user_movie_data(user["id"], item_ids)}
        gone = [i for i in item_ids if i not in found or _is_empty(found[i])]
        await self._write(user["id"], found, delete_ids=gone)


async def _run_users(
    ctx: JobContext, sync: UserHistorySync, users: list[asyncpg.Record], item_ids: list[str] | None
) -> None:
    queue: asyncio.Queue[asyncpg.Record] = asyncio.Queue()
    for user in users:
        queue.put_nowait(user)
    full = ctx.variant == "full"

    async def worker() -> None:
        while not queue.empty():
            ctx.raise_if_cancelled()
            user = queue.get_nowait()
            try:
                if item_ids is not None:
                    await sync.items(user, item_ids)
                else:
                    await sync.history(user, full=full)
            except JobCancelled:
                raise
            except MediaServerAuthError:
                raise  # the key is wrong for everyone: stop at once
            except (MediaServerError, asyncpg.PostgresError, OSError, ValueError) as exc:
                sync.counts.users_failed += 1
                await ctx.item_failed(f"watch history of user {user['name']} ({user['id']}) failed", exc)
                continue
            sync.counts.users_processed += 1
            sync.counts.ok_user_ids.append(user["id"])
            await ctx.advance()

    workers = [asyncio.create_task(worker()) for _ in range(max(1, ctx.settings.media_server_concurrency))]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)


async def sync_movie_watch_history(ctx: JobContext) -> dict[str, Any]:
    scope = ctx.scope or {}
    user_scope = [normalise_id(str(u)) for u in scope.get("user_ids") or []] or None
    item_scope = [normalise_id(str(i)) for i in scope.get("item_ids") or []] or None
    async with media_client(ctx) as client:
        counts = HistoryCounts()
        await _sync_users(ctx, client, counts)
        users = await ctx.db.fetch(q.USERS_TO_PROCESS, user_scope)
        skipped = await ctx.db.fetch(q.SKIPPED_USERS, user_scope)
        if skipped:
            await ctx.info(
                f"{len(skipped)} users skipped (disabled on the server, not enabled for picks, or removed)",
                user_ids=[r["id"] for r in skipped],
            )
        known_movies = {r["id"] for r in await ctx.db.fetch(q.MOVIE_IDS)}
        sync = UserHistorySync(ctx, client, known_movies)
        sync.counts = counts
        counts.users_skipped = len(skipped)
        await ctx.step("Syncing watch history", total=len(users), reset_counts=True)
        await _run_users(ctx, sync, users, item_scope)
    if counts.skipped_unknown_movies:
        await ctx.info(
            f"{counts.skipped_unknown_movies} plays skipped: their movies are not in the movies table "
            "(not in a synced library, or sync-movies has not run since they were added)"
        )
    if ctx.scope is not None and counts.ok_user_ids:
        ctx.follow_up("generate-movie-recommendations", scope={"user_ids": sorted(counts.ok_user_ids)})
    await ctx.info("watch history synced", **counts.as_result())
    return counts.as_result()
