"""Rows for recommendation tests, inserted with SQL (the sync and embedding jobs are not needed)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import asyncpg
import numpy as np

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


async def add_user(
    db: asyncpg.Pool,
    user_id: str,
    *,
    enabled: bool = True,
    disabled: bool = False,
    max_recs: int | None = None,
) -> None:
    await db.execute(
        "INSERT INTO media_users (id, name, enabled, is_disabled, max_recommendations) VALUES ($1, $2, $3, $4, $5)",
        user_id,
        f"user-{user_id}",
        enabled,
        disabled,
        max_recs,
    )


async def add_movies(
    db: asyncpg.Pool, vectors: dict[str, np.ndarray], *, genre: str = "Drama", model: str = MODEL
) -> None:
    """Movies titled by id, each with a vector for `model`."""
    await db.executemany(
        "INSERT INTO movies (id, title, year, genres, content_hash) VALUES ($1, $2, 2000, $3, 'h')",
        [(movie_id, f"Title {movie_id}", [genre]) for movie_id in vectors],
    )
    await db.executemany(
        "INSERT INTO movie_embeddings (movie_id, model, dimensions, content_hash, embedding) "
        "VALUES ($1, $2, $3, 'h', $4)",
        [(movie_id, model, len(v), v) for movie_id, v in vectors.items()],
    )


async def activate(db: asyncpg.Pool, model: str = MODEL, dims: int = DIMS) -> None:
    await db.execute(
        "INSERT INTO embedding_models (model, dimensions, active, activated_at) VALUES ($1, $2, true, now())",
        model,
        dims,
    )


async def add_plays(
    db: asyncpg.Pool, user_id: str, movie_ids: Sequence[str], *, favourite: bool = False, days_ago: float = 3
) -> None:
    when = datetime.now(UTC) - timedelta(days=days_ago)
    await db.executemany(
        "INSERT INTO movie_plays (user_id, movie_id, played, play_count, is_favorite, last_played_at) "
        "VALUES ($1, $2, true, 1, $3, $4)",
        [(user_id, m, favourite, when) for m in movie_ids],
    )


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
