"""Which model's vectors serve recommendations, and when a new model takes over.

Rule: the first model ever embedded serves as soon as it has any vector (something beats nothing).
After that a new model (or size) takes over only when its set is complete enough: after a full
run, when at most 1% of the non-removed items of every kind lack a vector for it (items that failed in that
very run: a few permanently failing items must not block a switch forever, while a broken
provider with many failures keeps the old vectors serving); after a scoped run, only when none is
missing (its run did not try the rest). On the switch, the new model's index is built first, then
one transaction flips `active` and deletes every other model's vectors. A model serves every media
kind, so coverage counts every kind's items: a movie run must not switch away from the model the
series vectors live in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg

from sidecar.embeddings import queries, store
from sidecar.media.tables import KindTables

MAX_MISSING_FRACTION_TO_SWITCH = 0.01


@dataclass
class Activation:
    active_model: str | None
    activated: bool = False  # this call made `model` the active one
    replaced_models: list[str] = field(default_factory=list)
    deleted_vectors: int = 0
    total: int = 0  # non-removed items, every kind
    missing: int = 0  # of those, without a vector for the model
    index: str | None = None


def missing_allowed(total: int, *, full_run: bool) -> int:
    return int(total * MAX_MISSING_FRACTION_TO_SWITCH) if full_run else 0


async def settle_active_model(
    db: asyncpg.Pool, every_kind: Sequence[KindTables], model: str, *, full_run: bool
) -> Activation:
    """Apply the rule above for `model` (the provider's); returns what is active afterwards."""
    current = await store.active_model(db)
    dimensions = await store.model_dimensions(db, model)
    if dimensions is None:  # nothing embedded with it yet
        return Activation(active_model=current[0] if current else None)
    total, missing = await store.coverage(db, every_kind, model)
    outcome = Activation(active_model=current[0] if current else None, total=total, missing=missing)
    if current is not None and current[0] == model:
        outcome.index = await _ensure_indexes(db, every_kind, model, dimensions)
        return outcome
    ready = (total - missing > 0) if current is None else missing <= missing_allowed(total, full_run=full_run)
    if not ready:
        return outcome

    outcome.index = await _ensure_indexes(db, every_kind, model, dimensions)
    others = [row["model"] for row in await db.fetch(queries.SELECT_OTHER_MODELS, model)]
    deleted = 0
    async with db.acquire() as conn, conn.transaction():
        await conn.execute(queries.DEACTIVATE_MODELS, model)
        await conn.execute(queries.ACTIVATE_MODEL, model)
        for tables in every_kind:
            status = await conn.execute(tables.sql(queries.DELETE_OTHER_VECTORS), model)
            deleted += int(status.split()[-1])
        await conn.execute(queries.DELETE_OTHER_MODELS, model)
    for old in others:
        for tables in every_kind:
            await store.drop_index(db, tables, old)
    outcome.active_model = model
    outcome.activated = True
    outcome.replaced_models = others
    outcome.deleted_vectors = deleted
    return outcome


async def _ensure_indexes(
    db: asyncpg.Pool, every_kind: Sequence[KindTables], model: str, dimensions: int
) -> str | None:
    """The model's index on every kind's vectors; returns the first kind's index name."""
    names = [await store.ensure_index(db, tables, model, dimensions) for tables in every_kind]
    return names[0] if names else None
