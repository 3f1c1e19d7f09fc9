"""A play of a copy in an AI Picks library is a play of the original.

The copy is another server item (our NFO gives it the original's TMDb/IMDb ids). Jellyfin 10.10
shared user data by those provider ids, so the original carried the copy's play. Jellyfin ≥ 10.11
keeps user data per item (`UserDataManager` saves under the item's own id), and we assume Emby does
too. There a play of the copy marks only the copy. Without this module, that play would be lost: the
original would be re-read with nothing changed, and the copy would vanish at the next library rewrite.

So, for every user data listing of a watch-history run:

* each copy (an item under our library root that is not in the catalogue) is matched to its original
  by provider id;
* the copy's state is folded into the original's. Nothing is taken away: played and favourite hold
  if either has them, the later play wins the date and the position, and the count is the larger one
  (under shared state the two are identical, and a sum would count each play twice);
* where the copy is played or a favourite and the original is not, the original is marked on the
  server too (`SIDECAR_MARK_ORIGINALS_PLAYED`, on by default), so "watched" shows in the user's main
  library, in Next Up and in the server's history. Nothing is ever un-marked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import asyncpg

from sidecar.library.paths import in_library_root
from sidecar.media import history_queries as q
from sidecar.media.recommend_data import Cached, read_change_counters
from sidecar.mediaserver import MediaServerClient, MediaServerError, UserMovieData
from sidecar.settings import Settings

if TYPE_CHECKING:
    from sidecar.media.kind import MediaKind


@dataclass(frozen=True)
class Originals:
    """Catalogue ids by provider id, to find the original of a copy (TMDb before IMDb)."""

    ids: frozenset[str]
    by_tmdb: Mapping[str, str]
    by_imdb: Mapping[str, str]

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]]) -> Originals:
        ids: set[str] = set()
        by_tmdb: dict[str, str] = {}
        by_imdb: dict[str, str] = {}
        for row in rows:
            ids.add(row["id"])
            if row["tmdb_id"]:
                by_tmdb.setdefault(str(row["tmdb_id"]), row["id"])
            if row["imdb_id"]:
                by_imdb.setdefault(str(row["imdb_id"]).lower(), row["id"])
        return cls(frozenset(ids), by_tmdb, by_imdb)

    def of(self, provider_ids: Mapping[str, str]) -> str | None:
        ids = {key.lower(): value for key, value in provider_ids.items() if value}
        tmdb, imdb = ids.get("tmdb"), ids.get("imdb")
        return (self.by_tmdb.get(str(tmdb)) if tmdb else None) or (
            self.by_imdb.get(str(imdb).lower()) if imdb else None
        )


async def load_originals(db: asyncpg.Pool, kind: MediaKind, cache: dict[str, Any] | None = None) -> Originals:
    """Every played row's ids (60,000 episodes for the generated TV data), for finding copies' originals.

    With the worker's cache, reused while the table has not changed (its change counter, sql/120 and
    sql/125): a webhook's run for a few users then reads no catalogue, where loading it took most of
    the run. Counters are read before the rows, so the cache never holds rows older than its mark."""
    if cache is None:
        return Originals.from_rows(await db.fetch(kind.sql(q.ITEM_IDS)))
    table = kind.tables.played or kind.tables.items
    mark = (await read_change_counters(db)).get(table, 0)
    cached = cache.get(kind.name)
    if isinstance(cached, Cached) and cached.counters == ((table, mark),):
        return cast(Originals, cached.loaded)
    originals = Originals.from_rows(await db.fetch(kind.sql(q.ITEM_IDS)))
    cache[kind.name] = Cached(((table, mark),), originals)
    return originals


@dataclass(frozen=True)
class Mark:
    """The original to mark on the server for a user, because its copy is played or a favourite."""

    user_id: str
    item_id: str
    played: bool
    favourite: bool


@dataclass
class Folded:
    """One user's listing with its copies folded into their originals."""

    plays: dict[str, UserMovieData]
    copies: int = 0  # copies counted for their originals
    orphans: int = 0  # copies whose original is not in the catalogue (removed, or never synced)
    marks: list[Mark] = field(default_factory=list)


def fold(original: UserMovieData | None, copy: UserMovieData, original_id: str) -> UserMovieData:
    """The original's state with the copy's added (see the module docstring for the rules)."""
    if original is None:
        return dataclasses.replace(copy, movie_id=original_id, path=None)
    copy_later = copy.last_played_at is not None and (
        original.last_played_at is None or copy.last_played_at > original.last_played_at
    )
    latest = copy if copy_later else original
    return dataclasses.replace(
        original,
        played=original.played or copy.played,
        play_count=max(original.play_count, copy.play_count),
        last_played_at=latest.last_played_at,
        position_ticks=latest.position_ticks,
        is_favorite=original.is_favorite or copy.is_favorite,
        user_rating=copy.user_rating if copy.user_rating is not None else original.user_rating,
    )


def is_copy(data: UserMovieData, originals: Originals, settings: Settings) -> bool:
    return data.movie_id not in originals.ids and bool(data.path) and in_library_root(data.path, settings)


async def fold_copies(
    plays: dict[str, UserMovieData],
    originals: Originals,
    settings: Settings,
    read_originals: Callable[[list[str]], Awaitable[list[UserMovieData]]],
) -> Folded:
    """`plays` (item id -> data, one user) with each copy folded into its original.

    `read_originals(ids)` returns the server's data for originals the listing did not hold (an
    incremental listing holds only recent plays), so the fold and the marks start from the server's
    real state of the original, not from nothing."""
    copy_ids = {item_id for item_id, d in plays.items() if is_copy(d, originals, settings)}
    if not copy_ids:
        return Folded(plays)
    copies = [plays[item_id] for item_id in copy_ids]
    out = {item_id: d for item_id, d in plays.items() if item_id not in copy_ids}
    pairs = [(copy, originals.of(copy.provider_ids)) for copy in copies]
    missing = sorted({oid for _, oid in pairs if oid is not None and oid not in out})
    server_state = {d.movie_id: d for d in (await read_originals(missing) if missing else [])}
    folded = Folded(out)
    for copy, original_id in pairs:
        if original_id is None:
            folded.orphans += 1
            continue
        before = out.get(original_id) or server_state.get(original_id)
        out[original_id] = fold(before, copy, original_id)
        folded.copies += 1
        played = copy.played and not (before is not None and before.played)
        favourite = copy.is_favorite and not (before is not None and before.is_favorite)
        if played or favourite:
            folded.marks.append(Mark(copy.user_id, original_id, played, favourite))
    return folded


async def mark_originals(
    db: asyncpg.Pool, client: MediaServerClient, marks: Iterable[Mark]
) -> tuple[int, list[str]]:
    """Mark each original played / favourite for its user on the server. Returns (marks made, errors);
    a failed mark is reported, never fatal: the play is already counted in our database.

    Each mark is recorded first: the server answers it with a webhook (the mark's echo) that may
    arrive before the call returns, and the planner ignores that echo instead of planning another
    watch-history chain for a change we made."""
    made = 0
    errors: list[str] = []
    await db.execute(q.PRUNE_OWN_MARKS)
    for mark in marks:
        await db.execute(q.RECORD_OWN_MARK, mark.user_id, mark.item_id, mark.played, mark.favourite)
        try:
            if mark.played:
                await client.mark_played(mark.user_id, mark.item_id)  # no date: safe to repeat
            if mark.favourite:
                await client.mark_favorite(mark.user_id, mark.item_id)
            made += 1
        except MediaServerError as exc:
            await db.execute(q.FORGET_OWN_MARK, mark.user_id, mark.item_id)  # no mark, no echo
            errors.append(f"{mark.item_id}: {exc}")
    return made, errors
