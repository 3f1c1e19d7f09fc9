"""Discovery's use of the TMDb client (sidecar.services.tmdb): which kinds it serves, the lists of a
seed, certifications for restricted users, and the `not configured` result."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from sidecar.discovery import queries as q
from sidecar.discovery.parental import movie_certification, tv_certification
from sidecar.jobs.context import JobContext
from sidecar.services.http import ServiceAuthError, ServiceNotFound
from sidecar.services.tmdb import TmdbClient, TmdbKind
from sidecar.settings import Settings

# A media kind's TMDb counterpart, by the servers' collection type of the kind.
TMDB_TYPES: dict[str, TmdbKind] = {"movies": "movie", "tvshows": "tv"}
CONCURRENCY = 8


def open_tmdb(settings: Settings) -> TmdbClient:
    """The client; ServiceNotConfigured naming SIDECAR_TMDB_API_KEY when no key is set."""
    return TmdbClient.from_settings(settings)


def not_configured_result(setting: str) -> dict[str, Any]:
    """What a run without a key completes with: the card says what to set."""
    return {"not_configured": setting, "message": f"not configured: set {setting}", "users_processed": 0}


async def seed_page(
    client: TmdbClient, list_name: str, kind: TmdbKind, tmdb_id: int, page: int
) -> Mapping[str, Any] | None:
    """One page of a seed's `recommendations` or `similar`; None when TMDb does not know the seed."""
    fetch = client.recommendations if list_name == "recommendations" else client.similar
    try:
        return await fetch(kind, tmdb_id, page)
    except ServiceNotFound:
        return None


async def certifications(
    ctx: JobContext,
    client: TmdbClient,
    kind: TmdbKind,
    tmdb_ids: Sequence[int],
    titles: Mapping[int, Mapping[str, Any]],
    counts: Counter[str],
) -> dict[int, str | None]:
    """The US certification of each title: stored ones (fresh within the cache time), the rest asked
    with the details request (release_dates / content_ratings appended) and stored."""
    max_age = ctx.settings.discovery_cache_days * 86_400
    found: dict[int, str | None] = {}
    missing = []
    for tmdb_id in tmdb_ids:
        row = titles.get(tmdb_id)
        stamp = row["certified_at"] if row is not None else None
        if stamp is not None and (dt.datetime.now(dt.UTC) - stamp).total_seconds() < max_age:
            found[tmdb_id] = row["certification"]  # type: ignore[index]
        else:
            missing.append(tmdb_id)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(tmdb_id: int) -> None:
        async with gate:
            try:
                details = await client.details(kind, tmdb_id)
            except ServiceAuthError:
                raise
            except Exception as exc:  # unknown now: not shown to a restricted user this time
                counts["certifications_failed"] += 1
                await ctx.warning(f"TMDb certification of {kind} {tmdb_id}: {exc}", tmdb_id=tmdb_id)
                found[tmdb_id] = None
                return
        answer = details.get("release_dates" if kind == "movie" else "content_ratings") or {}
        rating = movie_certification(answer) if kind == "movie" else tv_certification(answer)
        found[tmdb_id] = rating
        counts["certifications"] += 1
        await ctx.db.execute(q.SET_CERTIFICATION, kind, tmdb_id, rating)

    await asyncio.gather(*(one(t) for t in missing))
    return found
