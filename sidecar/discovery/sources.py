"""TMDb's recommendations and similar titles of each seed, fetched once per title for every user.

Answers are kept in `discovery_seed_lists` for SIDECAR_DISCOVERY_CACHE_DAYS (7 by default: TMDb's
lists move slowly, and a daily run then refreshes about a seventh of its seeds), their titles in
`discovery_titles`. A seed TMDb does not know (404) is stored as `not_found` for the same time, so it
costs nothing until then. Seeds are fetched concurrently; the client's token bucket keeps the pace at
TMDb's limit. One seed that fails is counted and skipped; several failing in a row mean TMDb is down:
the run fails saying so, and what was fetched stays cached, so the next run resumes there.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sidecar.discovery import queries as q
from sidecar.discovery.titles import TitleRow, title_row
from sidecar.discovery.tmdb_source import seed_page
from sidecar.jobs.context import JobContext, JobError
from sidecar.services.http import ServiceAuthError, ServiceUnavailable
from sidecar.services.tmdb import TmdbClient, TmdbKind

CONCURRENCY = 8  # requests in flight: enough to reach TMDb's ~50/s at a real round trip
PAGES = 1  # pages of each list (20 results each): the head is what matters
DOWN_AFTER = 4  # seeds failing in a row with the service unreachable: it is down, stop


@dataclass(frozen=True)
class SeedList:
    recommended: tuple[int, ...]
    similar: tuple[int, ...]


class _Streak:
    """Consecutive seeds lost to an unreachable service."""

    def __init__(self) -> None:
        self.count = 0


def _results(page: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    results = page.get("results") if page else None
    return [r for r in results if isinstance(r, Mapping)] if isinstance(results, list) else []


async def _pages(
    client: TmdbClient, list_name: str, kind: TmdbKind, tmdb_id: int
) -> list[Mapping[str, Any]] | None:
    """Up to PAGES pages of one list; None when TMDb does not know the seed."""
    found: list[Mapping[str, Any]] = []
    for page in range(1, PAGES + 1):
        answer = await seed_page(client, list_name, kind, tmdb_id, page)
        if answer is None:
            return None if page == 1 else found
        found += _results(answer)
        if page >= int(answer.get("total_pages") or 1):
            break
    return found


async def _fetch_one(
    client: TmdbClient, kind: TmdbKind, tmdb_id: int
) -> tuple[SeedList | None, list[TitleRow]]:
    recommended = await _pages(client, "recommendations", kind, tmdb_id)
    if recommended is None:
        return None, []
    similar = await _pages(client, "similar", kind, tmdb_id) or []
    parsed = [
        [r for r in (title_row(kind, x) for x in answer) if r is not None]
        for answer in (recommended, similar)
    ]
    rows = {r.tmdb_id: r for r in parsed[0] + parsed[1]}
    return SeedList(tuple(r.tmdb_id for r in parsed[0]), tuple(r.tmdb_id for r in parsed[1])), list(
        rows.values()
    )


async def _store(
    ctx: JobContext, media_type: str, tmdb_id: int, found: SeedList | None, rows: list[TitleRow]
) -> None:
    async with ctx.db.acquire() as conn, conn.transaction():
        if rows:
            await conn.executemany(q.UPSERT_TITLE, [r.values() for r in rows])
        await conn.execute(
            q.UPSERT_SEED_LIST,
            media_type,
            tmdb_id,
            "ok" if found is not None else "not_found",
            list(found.recommended) if found else [],
            list(found.similar) if found else [],
        )


async def seed_lists(
    ctx: JobContext, client: TmdbClient, media_type: TmdbKind, tmdb_ids: Sequence[int], counts: Counter[str]
) -> dict[int, SeedList]:
    """Every seed's lists: fresh cached ones read, the rest fetched and stored."""
    max_age = ctx.settings.discovery_cache_days * 86_400
    fresh = await ctx.db.fetch(q.FRESH_SEED_LISTS, media_type, list(tmdb_ids), max_age)
    lists = {
        r["tmdb_id"]: SeedList(tuple(r["recommended_ids"]), tuple(r["similar_ids"]))
        for r in fresh
        if r["status"] == "ok"
    }
    counts["seeds_cached"] += len(fresh)
    cached = {r["tmdb_id"] for r in fresh}
    missing = [t for t in tmdb_ids if t not in cached]
    await ctx.step(f"Asking TMDb for {media_type} recommendations", total=len(missing), reset_counts=True)
    gate = asyncio.Semaphore(CONCURRENCY)
    writing = asyncio.Lock()  # one writer: seeds share titles, and parallel upserts of them deadlock
    streak = _Streak()

    async def one(tmdb_id: int) -> None:
        async with gate:
            ctx.raise_if_cancelled()
            try:
                found, rows = await _fetch_one(client, media_type, tmdb_id)
            except ServiceAuthError:
                raise
            except ServiceUnavailable as exc:
                streak.count += 1
                counts["seeds_failed"] += 1
                await ctx.item_failed(f"TMDb lists of {media_type} {tmdb_id}", exc, tmdb_id=tmdb_id)
                if streak.count >= DOWN_AFTER:
                    raise JobError(
                        f"TMDb is unreachable ({exc}); {counts['seeds_fetched']} seed lists fetched in "
                        "this run are kept and the next run resumes from there"
                    ) from None
                return
            except Exception as exc:  # one bad answer never ends the run
                counts["seeds_failed"] += 1
                await ctx.item_failed(f"TMDb lists of {media_type} {tmdb_id}", exc, tmdb_id=tmdb_id)
                return
            streak.count = 0
            async with writing:
                await _store(ctx, media_type, tmdb_id, found, rows)
            counts["seeds_fetched"] += 1
            if found is None:
                counts["seeds_not_found"] += 1
            else:
                lists[tmdb_id] = found
            await ctx.advance()

    tasks = [asyncio.ensure_future(one(t)) for t in missing]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return lists
