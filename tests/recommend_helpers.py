"""Catalogues for recommendation tests (rows through tests/factory.py; no sync or embedding job needed)."""

from __future__ import annotations

import asyncpg
import numpy as np

from tests.factory import add_items, add_model, add_vectors

MODEL = "test-model"
DIMS = 16


def cluster_vectors(prefix: str, axis: int, count: int, seed: int) -> dict[str, np.ndarray]:
    """`count` movies near one axis: a genre-like cluster in vector space."""
    rng = np.random.default_rng(seed)
    vectors = {}
    for i in range(count):
        v = rng.normal(0, 0.15, DIMS)
        v[axis] += 1.0
        vectors[f"{prefix}{i:02d}"] = (v / np.linalg.norm(v)).astype(np.float32)
    return vectors


async def add_movies(
    db: asyncpg.Pool, vectors: dict[str, np.ndarray], *, genre: str = "Drama", model: str = MODEL
) -> None:
    """Movies titled by id, each with a vector for `model`."""
    await add_items(db, [{"id": movie_id, "year": 2000, "genres": [genre]} for movie_id in vectors])
    await add_vectors(db, vectors, model=model)


async def activate(db: asyncpg.Pool, model: str = MODEL, dims: int = DIMS) -> None:
    await add_model(db, model, dims)


async def user_list(db: asyncpg.Pool, user_id: str) -> list[asyncpg.Record]:
    return await db.fetch("SELECT * FROM movie_recommendations WHERE user_id = $1 ORDER BY rank", user_id)


async def two_cluster_library(db: asyncpg.Pool, per_cluster: int = 20) -> tuple[list[str], list[str]]:
    """Space movies (S..) and romance movies (R..), active model; returns both id lists."""
    space = cluster_vectors("S", 0, per_cluster, seed=1)
    romance = cluster_vectors("R", 1, per_cluster, seed=2)
    await add_movies(db, space, genre="Science Fiction")
    await add_movies(db, romance, genre="Romance")
    await activate(db)
    return sorted(space), sorted(romance)
