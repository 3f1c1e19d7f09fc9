"""The embeddings step (`generate-movie-embeddings`, ...): a vector for every non-removed item of a
kind that lacks a current one.

"Current" = made by the provider's model (name includes dimensions) from the item's present
`content_hash`. Work goes in chunks sized to keep the provider busy; between chunks the run
reports progress, honours cancel, and has already stored what it made, so a cancelled or
interrupted run resumes where it stopped. Items the provider gave up on are counted as failed.
"""

from __future__ import annotations

from typing import Any

from sidecar.embeddings import store
from sidecar.embeddings.activation import settle_active_model
from sidecar.embeddings.base import EmbeddingProvider
from sidecar.embeddings.factory import EmbeddingSetupError, provider_from_settings
from sidecar.jobs.context import JobContext, JobError
from sidecar.media.kind import MediaKind, Step

FAILED_IDS_LOGGED = 20
# Re-embedding this many items (and at least a quarter of the model's vectors) drops the model's
# HNSW index first and rebuilds it at the end: one build is several times faster than updating
# the graph row by row. Queries stay correct meanwhile (sequential scan).
INDEX_REBUILD_MIN_ITEMS = 1000
INDEX_REBUILD_MIN_FRACTION = 0.25


async def generate_embeddings(ctx: JobContext, kind: MediaKind) -> dict[str, Any]:
    try:
        provider = provider_from_settings(ctx.settings, ctx.resources.encoder)
    except EmbeddingSetupError as exc:
        raise JobError(str(exc)) from None
    try:
        return await _embed(ctx, kind, provider)
    finally:
        await provider.aclose()


async def _embed(ctx: JobContext, kind: MediaKind, provider: EmbeddingProvider) -> dict[str, Any]:
    scope = ctx.scope
    item_ids: list[str] | None = None
    if scope is not None:
        if "item_ids" not in scope:
            await ctx.info(
                f"nothing to embed: embeddings are per {kind.singular} and this scope names no {kind.name}"
            )
            return {"model": provider.model, "embedded": 0, "skipped": 0, "failed": 0, "requests": 0}
        item_ids = sorted({str(i) for i in scope["item_ids"]})

    model = provider.model
    await ctx.step(f"Finding {kind.name} to embed")
    to_embed = await store.ids_to_embed(ctx.db, kind.tables, model, item_ids)
    in_scope = await store.count_active_items(ctx.db, kind.tables, item_ids)
    counts: dict[str, Any] = {
        "provider": provider.name,
        "model": model,
        "dimensions": await store.model_dimensions(ctx.db, model),
        "embedded": 0,
        "skipped": in_scope - len(to_embed),  # already current
        "failed": 0,
        "requests": 0,
        "tokens": None,
    }
    if item_ids is not None:
        counts["ignored"] = len(item_ids) - in_scope  # unknown or removed ids
    await ctx.info(
        f"{len(to_embed)} {kind.name} to embed with {provider.name} model {model}",
        to_embed=len(to_embed),
        up_to_date=counts["skipped"],
    )

    if await _worth_rebuilding_index(ctx, kind, model, len(to_embed)):
        await store.drop_index(ctx.db, kind.tables, model)
        await ctx.info("dropped the model's vector index for a bulk re-embed; it is rebuilt at the end")

    await ctx.step(f"Embedding {kind.name} ({model})", total=len(to_embed), reset_counts=True)
    embedded_ids: list[str] = []
    for start in range(0, len(to_embed), provider.chunk_size):
        ctx.raise_if_cancelled()
        chunk = to_embed[start : start + provider.chunk_size]
        embedded_ids += await _embed_chunk(ctx, kind, provider, chunk, counts)

    await ctx.step("Choosing the active model")
    every_kind = [kind.tables, *(k.tables for k in ctx.resources.kinds if k.tables != kind.tables)]
    activation = await settle_active_model(ctx.db, every_kind, model, full_run=item_ids is None)
    counts.update(
        active_model=activation.active_model,
        replaced_models=activation.replaced_models,
        deleted_vectors=activation.deleted_vectors,
        index=activation.index,
    )
    if activation.activated:
        await ctx.info(
            f"model {model} now serves recommendations",
            replaced=activation.replaced_models,
            deleted_vectors=activation.deleted_vectors,
        )
    elif activation.active_model not in (None, model):
        await ctx.warning(
            f"model {model} lacks vectors for {activation.missing} of {activation.total} items; "
            f"{activation.active_model} keeps serving recommendations until a full run completes the set",
            missing=activation.missing,
            total=activation.total,
        )
    if item_ids is not None and embedded_ids:
        ctx.follow_up(kind.job(Step.RECOMMENDATIONS), scope={"item_ids": embedded_ids})
    return counts


async def _embed_chunk(
    ctx: JobContext, kind: MediaKind, provider: EmbeddingProvider, chunk: list[str], counts: dict[str, Any]
) -> list[str]:
    """Embed and store one chunk; returns the ids stored. Failed items are counted and logged."""
    items = await ctx.db.fetch(kind.text_query, chunk)
    vanished = len(chunk) - len(items)  # removed since the run started
    if not items:
        await ctx.advance(processed=vanished)
        return []
    result = await provider.embed([kind.text(movie) for movie in items])
    counts["requests"] += result.requests
    if result.prompt_tokens is not None:
        counts["tokens"] = (counts["tokens"] or 0) + result.prompt_tokens

    stored: list[tuple[str, str, Any]] = []
    if len(result.failed) < len(items):
        dimensions = await _checked_dimensions(ctx, provider, result.dimensions)
        counts["dimensions"] = dimensions
        stored = [
            (movie["id"], movie["content_hash"], result.vectors[i])
            for i, movie in enumerate(items)
            if i not in result.failed
        ]
        await store.write_vectors(ctx.db, kind.tables, provider.model, dimensions, stored)
    if result.failed:
        await _log_failures(ctx, kind, items, result.failed)
    counts["embedded"] += len(stored)
    counts["failed"] += len(result.failed)
    await ctx.advance(processed=len(items) + vanished, failed=len(result.failed))
    return [item_id for item_id, _, _ in stored]


async def _worth_rebuilding_index(ctx: JobContext, kind: MediaKind, model: str, to_embed: int) -> bool:
    if to_embed < INDEX_REBUILD_MIN_ITEMS:
        return False
    existing = await store.count_vectors(ctx.db, kind.tables, model)
    return existing > 0 and to_embed >= existing * INDEX_REBUILD_MIN_FRACTION


async def _checked_dimensions(ctx: JobContext, provider: EmbeddingProvider, dimensions: int) -> int:
    """Register the model's size on first use; a model whose size changes cannot share an index."""
    recorded = await store.register_model(ctx.db, provider.model, dimensions)
    if recorded != dimensions:
        raise JobError(
            f"model {provider.model} now returns {dimensions}-dimension vectors but earlier ones had "
            f"{recorded}; set SIDECAR_EMBEDDING_DIMENSIONS={recorded} or use a different model name"
        )
    return dimensions


async def _log_failures(ctx: JobContext, kind: MediaKind, items: list[Any], failed: dict[int, str]) -> None:
    """One warning per distinct reason, naming the items (a failed request covers many)."""
    by_reason: dict[str, list[str]] = {}
    for i, reason in failed.items():
        by_reason.setdefault(reason, []).append(items[i]["id"])
    for reason, ids in by_reason.items():
        await ctx.warning(
            f"{len(ids)} {kind.name} could not be embedded ({reason}); the next run retries them",
            item_ids=ids[:FAILED_IDS_LOGGED],
            more=max(0, len(ids) - FAILED_IDS_LOGGED),
        )
