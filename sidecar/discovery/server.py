"""What the server already has, as TMDb ids: a suggestion must never be a title on the server.

Items carry TMDb, IMDb and TVDB ids (any of them may be missing). An item with a TMDb id is excluded
by it; an item with only an IMDb or TVDB id is resolved to its TMDb id through TMDb's
`/find/{id}?external_source=imdb_id|tvdb_id`, once (a hit is kept for good, a miss is asked again
after SIDECAR_DISCOVERY_CACHE_DAYS), so it is excluded too.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sidecar.discovery import queries as q
from sidecar.jobs.context import JobContext
from sidecar.media.kind import MediaKind
from sidecar.services.http import ServiceAuthError
from sidecar.services.tmdb import TmdbClient, TmdbKind

CONCURRENCY = 8


@dataclass
class ServerTitles:
    """A kind's items by their ids: TMDb id of each item, and every TMDb id present on the server."""

    tmdb_by_item: dict[str, int] = field(default_factory=dict)  # removed items too (a user's plays)
    present: set[int] = field(default_factory=set)  # TMDb ids of items on the server now
    titles: dict[str, str] = field(default_factory=dict)


def _tmdb(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


async def server_titles(
    ctx: JobContext, kind: MediaKind, media_type: TmdbKind, client: TmdbClient, counts: Counter[str]
) -> ServerTitles:
    rows = await ctx.db.fetch(kind.sql(q.SERVER_IDS))
    found = ServerTitles(titles={r["id"]: r["title"] for r in rows})
    unresolved: dict[tuple[str, str], list[Any]] = {}
    for row in rows:
        tmdb_id = _tmdb(row["tmdb"])
        if tmdb_id is not None:
            found.tmdb_by_item[row["id"]] = tmdb_id
        elif row["imdb"] or row["tvdb"]:
            source, external = ("imdb", row["imdb"]) if row["imdb"] else ("tvdb", row["tvdb"])
            unresolved.setdefault((source, external), []).append(row)
    resolved = await _resolve(ctx, client, media_type, list(unresolved), counts)
    for key, items in unresolved.items():
        if resolved.get(key) is not None:
            for row in items:
                found.tmdb_by_item[row["id"]] = resolved[key]  # type: ignore[assignment]
    present_ids = {r["id"] for r in rows if r["present"]}
    found.present = {t for item, t in found.tmdb_by_item.items() if item in present_ids}
    return found


async def _resolve(
    ctx: JobContext,
    client: TmdbClient,
    media_type: TmdbKind,
    keys: list[tuple[str, str]],
    counts: Counter[str],
) -> dict[tuple[str, str], int | None]:
    """(source, external id) -> TMDb id, from the cache or `/find`."""
    max_age = ctx.settings.discovery_cache_days * 86_400
    resolved: dict[tuple[str, str], int | None] = {}
    for source in ("imdb", "tvdb"):
        wanted = [external for s, external in keys if s == source]
        if wanted:
            for row in await ctx.db.fetch(q.RESOLVED_IDS, source, media_type, wanted, max_age):
                resolved[(source, row["external_id"])] = row["tmdb_id"]
    missing = [key for key in keys if key not in resolved]
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(key: tuple[str, str]) -> None:
        source, external = key
        async with gate:
            try:
                tmdb_id = await client.find_id(
                    media_type, external, "imdb_id" if source == "imdb" else "tvdb_id"
                )
            except ServiceAuthError:
                raise
            except Exception as exc:  # unresolved now, asked again next run
                counts["lookups_failed"] += 1
                await ctx.warning(f"TMDb /find {source} {external}: {exc}", external_id=external)
                return
        resolved[key] = tmdb_id
        counts["lookups"] += 1
        await ctx.db.execute(q.UPSERT_RESOLVED_ID, source, external, media_type, tmdb_id)

    await asyncio.gather(*(one(key) for key in missing))
    return resolved
