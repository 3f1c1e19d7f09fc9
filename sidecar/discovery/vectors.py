"""Vectors of discovery titles with the active embedding model, cached by (TMDb title, model).

A title's vector is remade only when its text changed (content hash) or the model did; a run that
finds every candidate cached embeds nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
import numpy as np

from sidecar.discovery import queries as q
from sidecar.discovery.titles import embedding_text
from sidecar.embeddings.base import EmbeddingProvider
from sidecar.jobs.context import JobContext
from sidecar.media.recommend_data import decode_vectors


async def cached_vectors(
    db: asyncpg.Pool, media_type: str, model: str, dimensions: int, tmdb_ids: Sequence[int]
) -> dict[int, np.ndarray]:
    rows = await db.fetch(q.VECTORS, media_type, model, list(tmdb_ids))
    rows = [r for r in rows if len(r["embedding"]) == 4 + 4 * dimensions]
    if not rows:
        return {}
    matrix = decode_vectors([r["embedding"] for r in rows], dimensions)
    return {r["tmdb_id"]: matrix[i] for i, r in enumerate(rows)}


async def title_vectors(
    ctx: JobContext,
    provider: EmbeddingProvider,
    media_type: str,
    dimensions: int,
    titles: Mapping[int, Mapping[str, Any]],
    counts: dict[str, int],
) -> dict[int, np.ndarray]:
    """A vector for every title in `titles` (TMDb id -> its `discovery_titles` row) that the provider
    could embed: cached ones read, the rest embedded chunk by chunk and stored."""
    vectors = await cached_vectors(ctx.db, media_type, provider.model, dimensions, list(titles))
    missing = [tmdb_id for tmdb_id in titles if tmdb_id not in vectors]
    for start in range(0, len(missing), provider.chunk_size):
        ctx.raise_if_cancelled()
        chunk = missing[start : start + provider.chunk_size]
        texts = [
            embedding_text(
                titles[i]["title"], titles[i]["year"], list(titles[i]["genres"]), titles[i]["overview"]
            )
            for i in chunk
        ]
        result = await provider.embed(texts)
        counts["embedding_requests"] += result.requests
        if result.dimensions and result.dimensions != dimensions:
            break  # another size than the active model's: not comparable; the warning comes from the caller
        stored = [
            (media_type, tmdb_id, provider.model, titles[tmdb_id]["content_hash"], result.vectors[i])
            for i, tmdb_id in enumerate(chunk)
            if i not in result.failed
        ]
        if stored:
            await ctx.db.executemany(q.UPSERT_VECTOR, stored)
        vectors.update({row[1]: row[4] for row in stored})
        counts["candidates_embedded"] += len(stored)
        counts["embedding_failed"] += len(result.failed)
    return vectors
