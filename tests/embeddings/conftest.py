"""A live fake OpenAI embeddings server per test, and `movies` rows (through tests/factory.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import numpy as np
import pytest

from sidecar.settings import Settings
from sidecar.simulator.openai_server import OpenAIEmbeddingsSimulator, serve
from tests.factory import add_items

TEST_KEY = "sk-test-0123456789abcdef"


@dataclass
class LiveSimulator:
    sim: OpenAIEmbeddingsSimulator
    base_url: str


@pytest.fixture
async def openai_server() -> AsyncIterator[LiveSimulator]:
    sim = OpenAIEmbeddingsSimulator(api_key=TEST_KEY)
    async with serve(sim) as base_url:
        yield LiveSimulator(sim, base_url)


@pytest.fixture
def openai_settings(settings: Settings, openai_server: LiveSimulator) -> Settings:
    """The test settings pointed at the fake server, with fast backoff."""
    return settings.model_copy(
        update={
            "embedding_provider": "openai",
            "openai_base_url": openai_server.base_url,
            "openai_api_key": __import__("pydantic").SecretStr(TEST_KEY),
            "embedding_retry_base_seconds": 0.01,
        }
    )


def movie_row(i: int, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": f"{i:032x}",
        "title": f"Movie {i}",
        "year": 1980 + i % 40,
        "overview": f"A story number {i} about people and places.",
        "tagline": None,
        "genres": ["Drama"],
        "studios": [],
        "people": [],
        "tags": [],
        "content_hash": f"hash-{i}",
        "removed": False,
    }
    row.update(overrides)
    return row


async def insert_movies(db: asyncpg.Pool, rows: Sequence[dict[str, Any]]) -> None:
    await add_items(db, rows)


async def stored_vectors(
    db: asyncpg.Pool, model: str, movie_ids: Sequence[str] | None = None, *, include_removed: bool = False
) -> tuple[list[str], np.ndarray]:
    """Movie ids (sorted) and their stored vectors for `model` as one (n, d) float32 matrix."""
    rows = await db.fetch(
        """SELECT e.movie_id, e.embedding FROM movie_embeddings e JOIN movies m ON m.id = e.movie_id
           WHERE e.model = $1 AND ($2::text[] IS NULL OR e.movie_id = ANY($2::text[]))
             AND ($3 OR m.removed_at IS NULL)
           ORDER BY e.movie_id""",
        model,
        list(movie_ids) if movie_ids is not None else None,
        include_removed,
    )
    if not rows:
        return [], np.zeros((0, 0), dtype=np.float32)
    return [r["movie_id"] for r in rows], np.stack(
        [np.asarray(r["embedding"].to_numpy(), dtype=np.float32) for r in rows]
    )
