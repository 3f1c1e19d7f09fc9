"""Item vectors in pgvector (one table per media kind): writing them in bulk, the HNSW index.

The `embedding` column is an unconstrained `vector` so several models (sizes) can live side by
side during a model change. Each model gets a partial HNSW index over a cast to its size; queries
use the same expression (`index_expression`) and the model as a literal (`model_literal`) so the
planner can match the partial index.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import asyncpg
import numpy as np

from sidecar.embeddings import queries
from sidecar.media.tables import KindTables

MAX_VECTOR_INDEX_DIMENSIONS = 2000  # pgvector's HNSW limit for `vector`
MAX_HALFVEC_INDEX_DIMENSIONS = 4000  # and for `halfvec`


# --- the index and the expression queries must repeat ------------------------------------------------
def vector_cast(dimensions: int) -> str:
    """The type vectors of this size are indexed (and must be compared) as: vector(D) or halfvec(D)."""
    kind = "vector" if dimensions <= MAX_VECTOR_INDEX_DIMENSIONS else "halfvec"
    return f"{kind}({int(dimensions)})"


def index_expression(dimensions: int) -> str:
    """`embedding::vector(D)`; order by `<expr> <=> $1::<vector_cast(D)>` to use the index."""
    return f"embedding::{vector_cast(dimensions)}"


def model_literal(model: str) -> str:
    """The model as an SQL string literal, for the partial-index predicate `model = '<model>'`."""
    return "'" + model.replace("'", "''") + "'"


def index_name(tables: KindTables, model: str) -> str:
    """A stable, valid identifier per vectors table and model: readable part plus a hash so distinct
    names never collide."""
    readable = re.sub(r"[^a-z0-9]+", "_", model.lower()).strip("_")[:24]
    digest = hashlib.sha1(model.encode("utf-8")).hexdigest()[:8]
    return f"{tables.vectors}_hnsw_{readable}_{digest}"


def index_sql(tables: KindTables, model: str, dimensions: int) -> str | None:
    """The CREATE INDEX statement for a model's vectors; None above pgvector's indexable size."""
    if dimensions > MAX_HALFVEC_INDEX_DIMENSIONS:
        return None
    ops = "vector_cosine_ops" if dimensions <= MAX_VECTOR_INDEX_DIMENSIONS else "halfvec_cosine_ops"
    return (
        f"CREATE INDEX IF NOT EXISTS {index_name(tables, model)} ON {tables.vectors} "
        f"USING hnsw (({index_expression(dimensions)}) {ops}) WHERE model = {model_literal(model)}"
    )


async def ensure_index(
    db: asyncpg.Pool | asyncpg.Connection, tables: KindTables, model: str, dimensions: int
) -> str | None:
    """Create the model's HNSW index if missing; returns its name (None if the size cannot be indexed)."""
    statement = index_sql(tables, model, dimensions)
    if statement is None:
        return None
    await db.execute(statement)
    return index_name(tables, model)


async def drop_index(db: asyncpg.Pool | asyncpg.Connection, tables: KindTables, model: str) -> None:
    await db.execute(f"DROP INDEX IF EXISTS {index_name(tables, model)}")


# --- reading -----------------------------------------------------------------------------------------
async def active_model(db: asyncpg.Pool | asyncpg.Connection) -> tuple[str, int] | None:
    """(model, dimensions) whose vectors serve recommendations, or None before the first embeddings."""
    row = await db.fetchrow(queries.SELECT_ACTIVE_MODEL)
    return (row["model"], row["dimensions"]) if row else None


async def model_dimensions(db: asyncpg.Pool | asyncpg.Connection, model: str) -> int | None:
    return await db.fetchval(queries.SELECT_MODEL_DIMENSIONS, model)


async def ids_to_embed(
    db: asyncpg.Pool | asyncpg.Connection, tables: KindTables, model: str, item_ids: Sequence[str] | None
) -> list[str]:
    """Non-removed items lacking a vector for `model`, or whose metadata changed since it was made."""
    rows = await db.fetch(tables.sql(queries.SELECT_IDS_TO_EMBED), model, _ids(item_ids))
    return [row["id"] for row in rows]


async def count_active_items(
    db: asyncpg.Pool | asyncpg.Connection, tables: KindTables, item_ids: Sequence[str] | None
) -> int:
    return int(await db.fetchval(tables.sql(queries.COUNT_ACTIVE_ITEMS), _ids(item_ids)))


async def count_vectors(db: asyncpg.Pool | asyncpg.Connection, tables: KindTables, model: str) -> int:
    return int(await db.fetchval(tables.sql(queries.COUNT_VECTORS), model))


async def coverage(
    db: asyncpg.Pool | asyncpg.Connection, every_kind: Sequence[KindTables], model: str
) -> tuple[int, int]:
    """(non-removed items of every kind, how many of them lack a vector for `model`): a model serves
    all kinds, so a switch must count them all."""
    total = missing = 0
    for tables in every_kind:
        row = await db.fetchrow(tables.sql(queries.MODEL_COVERAGE), model)
        total, missing = total + int(row["total"]), missing + int(row["missing"])
    return total, missing


# --- writing -----------------------------------------------------------------------------------------
async def register_model(db: asyncpg.Pool | asyncpg.Connection, model: str, dimensions: int) -> int:
    """Record the model (inactive) on first use; returns the size on record, which may differ."""
    await db.execute(queries.REGISTER_MODEL, model, dimensions)
    return int(await db.fetchval(queries.SELECT_MODEL_DIMENSIONS, model))


async def write_vectors(
    db: asyncpg.Pool,
    tables: KindTables,
    model: str,
    dimensions: int,
    rows: Sequence[tuple[str, str, np.ndarray]],
) -> None:
    """Upsert (item id, content_hash, vector) rows in one pipelined statement and transaction."""
    if not rows:
        return
    params = [(item_id, model, dimensions, content_hash, vector) for item_id, content_hash, vector in rows]
    async with db.acquire() as conn, conn.transaction():
        await conn.executemany(tables.sql(queries.UPSERT_EMBEDDING), params)


def _ids(item_ids: Sequence[str] | None) -> list[str] | None:
    return [str(i) for i in item_ids] if item_ids is not None else None
