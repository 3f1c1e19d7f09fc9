"""Everything a recommendation run needs, loaded once: active vectors, all plays, co-watching."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import numpy as np

from sidecar.jobs.context import JobError
from sidecar.media import recommend_queries as q
from sidecar.media.kind import MediaKind, Step
from sidecar.recommender.collaborative import ServerPlays, server_plays
from sidecar.recommender.cowatch import CoWatch, build_cowatch
from sidecar.recommender.data import Catalog, Plays, build_catalog


def _no_embeddings(kind: MediaKind) -> str:
    return (
        f"there are no active {kind.singular} embeddings, so nothing can be recommended: "
        f"run {kind.job(Step.EMBEDDINGS)} first (it activates a model once every {kind.singular} has a vector)"
    )


VECTOR_HEADER_BYTES = 4  # pgvector binary form: uint16 dimensions, uint16 unused, then float4 big-endian


@dataclass(frozen=True)
class RunData:
    model: str
    catalog: Catalog
    plays_by_user: dict[str, Plays]
    server: ServerPlays  # co-watching and the EASE model (reused from the worker while plays are the same)
    bad_vectors: list[str]  # movie ids whose vector does not have the model's dimensions
    years: dict[str, int | None]


def decode_vectors(blobs: list[bytes], dimensions: int) -> np.ndarray:
    """pgvector binary values of one size → (n, dimensions) float32."""
    raw = np.frombuffer(b"".join(blobs), dtype=np.uint8).reshape(
        len(blobs), VECTOR_HEADER_BYTES + 4 * dimensions
    )
    return raw[:, VECTOR_HEADER_BYTES:].copy().view(">f4").astype(np.float32)


async def load_catalog(
    db: asyncpg.Pool, kind: MediaKind
) -> tuple[str, Catalog, list[str], dict[str, int | None]]:
    """The active model's vectors as one matrix, the ids of vectors of the wrong size, and years.

    JobError if there is no active model or it has no vectors.
    """
    active = await db.fetchrow(q.ACTIVE_MODEL)
    if active is None:
        raise JobError(_no_embeddings(kind))
    size = VECTOR_HEADER_BYTES + 4 * active["dimensions"]
    fetched = await db.fetch(kind.sql(q.CATALOG), active["model"])
    rows = [r for r in fetched if len(r["embedding"]) == size]
    bad = [r["id"] for r in fetched if len(r["embedding"]) != size]
    if not rows:
        raise JobError(_no_embeddings(kind))
    catalog = build_catalog(
        ids=[r["id"] for r in rows],
        titles=[r["title"] for r in rows],
        vectors=decode_vectors([r["embedding"] for r in rows], active["dimensions"]),
        genres=[r["genres"] for r in rows],
        community_ratings=[r["community_rating"] for r in rows],
        removed=[r["removed"] for r in rows],
        collections=[r["collection_id"] for r in rows],  # enrich-metadata's, for the franchise boost
    )
    return active["model"], catalog, bad, {r["id"]: r["year"] for r in rows}


def _plays(row: asyncpg.Record) -> Plays:
    return Plays(
        item_ids=row["item_ids"],
        play_counts=np.array(row["play_counts"], dtype=np.int64),
        favourite=np.array(row["favourite"], dtype=bool),
        user_rating=np.array(row["user_ratings"], dtype=float),  # None → nan
        last_played=np.array(row["last_played"], dtype=float),
        watched=np.array(row["watched"], dtype=bool),
    )


def cowatch_from_plays(catalog: Catalog, plays_by_user: dict[str, Plays]) -> CoWatch:
    """Who watched what across every user on the server (movies without a vector left out)."""
    users, movies = [], []
    for user_row, plays in enumerate(plays_by_user.values()):
        rows = np.array([catalog.index.get(m, -1) for m in plays.item_ids], dtype=np.int64)
        keep = (rows >= 0) & plays.watched
        movies.append(rows[keep])
        users.append(np.full(int(keep.sum()), user_row, dtype=np.int64))
    return build_cowatch(
        np.concatenate(users) if users else np.zeros(0, dtype=np.int64),
        np.concatenate(movies) if movies else np.zeros(0, dtype=np.int64),
        max(len(plays_by_user), 1),
        len(catalog),
    )


COMPACT_AFTER_ROWS = 1000  # appended change rows before a reader folds them to one per table


async def read_change_counters(db: asyncpg.Pool) -> dict[str, int]:
    """How often each watched table has changed (sql/120_change_counters.sql). Read BEFORE the data it
    vouches for: data read afterwards is at least as new, so a cache never holds older data than its
    counters say (at worst newer, which only costs one reload)."""
    rows = await db.fetch(q.CHANGE_COUNTERS)
    if sum(r["log_rows"] for r in rows) > COMPACT_AFTER_ROWS:
        await db.execute(q.COMPACT_CHANGE_COUNTERS)
    return {r["name"]: r["bumps"] for r in rows}


def _catalogue_tables(kind: MediaKind) -> tuple[str, ...]:
    return (*q.CATALOGUE_SHARED_TABLES, kind.tables.items, kind.tables.vectors)


# How long a webhook's run (a few users) may reuse the other users' plays, the co-watching and the EASE
# fit of an earlier load: its own users' plays are always read fresh, and a few plays more or less
# elsewhere barely move a model of the whole server; a full run (schedules, manual) reloads anyway.
SCOPED_REUSE_SECONDS = 600.0


@dataclass(frozen=True)
class Cached:
    """Something loaded from the database with the change counters it was loaded under."""

    counters: tuple[tuple[str, int], ...]
    loaded: Any
    loaded_at: float = field(default_factory=time.monotonic)


def _counters_of(
    counters: dict[str, int], tables: tuple[str, ...] | None = None
) -> tuple[tuple[str, int], ...]:
    names = sorted(counters) if tables is None else sorted(tables)
    return tuple((name, counters.get(name, 0)) for name in names)


async def load_catalog_cached(
    db: asyncpg.Pool, kind: MediaKind, cache: dict[str, Any], counters: dict[str, int]
) -> tuple[str, Catalog, list[str], dict[str, int | None]]:
    """`load_catalog`, reused from the worker's cache (`cache[kind.name]`) while no model, vector,
    item or enrichment row has changed (their change counters are the same)."""
    mark = _counters_of(counters, _catalogue_tables(kind))
    cached = cache.get(kind.name)
    if isinstance(cached, Cached) and cached.counters == mark:
        return cached.loaded
    loaded = await load_catalog(db, kind)
    cache[kind.name] = Cached(mark, loaded)
    return loaded


async def _load_plays(db: asyncpg.Pool, kind: MediaKind, user_ids: Sequence[str] | None) -> dict[str, Plays]:
    """Every user's plays of the kind (None), or those of `user_ids`."""
    taste = kind.taste_query or kind.sql(q.PLAYS)
    return {row["user_id"]: _plays(row) for row in await db.fetch(taste, user_ids)}


async def _load_fresh(
    db: asyncpg.Pool,
    kind: MediaKind,
    catalogue: tuple[str, Catalog, list[str], dict[str, int | None]],
    models: dict[str, Any] | None,
) -> RunData:
    model, catalog, bad_vectors, years = catalogue
    plays_by_user = await _load_plays(db, kind, None)
    cowatch = cowatch_from_plays(catalog, plays_by_user)
    server = server_plays(cowatch, kind.params.lambda_scale, models, key=kind.name)
    return RunData(model, catalog, plays_by_user, server, bad_vectors, years)


async def load_run_data(
    db: asyncpg.Pool,
    kind: MediaKind,
    cache: dict[str, Any] | None = None,
    models: dict[str, Any] | None = None,
    user_ids: Sequence[str] | None = None,
) -> RunData:
    """Catalogue, every play, co-watching and the EASE fit. With a cache (the worker's) the whole run
    data is reused while no table it was read from has changed: a one-user run then costs one small
    query here instead of reading every play; a changed play reloads the plays (and refits EASE only if
    the co-watching changed), a changed catalogue table reloads the catalogue too.

    A run for some users (`user_ids`: a webhook's) whose plays changed reads only those users' plays
    and keeps the rest of an earlier load younger than SCOPED_REUSE_SECONDS with the same catalogue:
    reading every play and refitting took most of the webhook chain's recommendation step."""
    if cache is None:
        return await _load_fresh(db, kind, await load_catalog(db, kind), models)
    counters = await read_change_counters(db)
    run_key = f"{kind.name}/run"
    mark = _counters_of(counters)  # every watched table: the plays, and co-watching rows follow the catalogue
    cached = cache.get(run_key)
    if isinstance(cached, Cached) and cached.counters == mark:
        return cached.loaded
    if user_ids is not None and isinstance(cached, Cached) and _reusable(cached, counters, kind):
        fresh = await _load_plays(db, kind, user_ids)
        scoped = set(user_ids)
        kept = {u: p for u, p in cached.loaded.plays_by_user.items() if u not in scoped}
        return dataclasses.replace(cached.loaded, plays_by_user=kept | fresh)
    data = await _load_fresh(db, kind, await load_catalog_cached(db, kind, cache, counters), models)
    cache[run_key] = Cached(mark, data)
    return data


def _reusable(cached: Cached, counters: dict[str, int], kind: MediaKind) -> bool:
    """Young enough, and loaded under the same catalogue (the plays' item indices point into it)."""
    tables = _catalogue_tables(kind)
    young = time.monotonic() - cached.loaded_at < SCOPED_REUSE_SECONDS
    return young and _counters_of(dict(cached.counters), tables) == _counters_of(counters, tables)
