"""The bundled all-MiniLM-L6-v2, really loaded and run (no network)."""

from __future__ import annotations

from typing import Any

import asyncpg
import numpy as np
import pytest

from sidecar.embeddings.factory import EmbeddingSetupError, provider_from_settings
from sidecar.embeddings.local_provider import LocalEmbeddingProvider
from sidecar.jobs.resources import JobResources
from sidecar.movies.text import movie_text
from sidecar.settings import Settings
from tests.embeddings.conftest import insert_movies, movie_row

HEAT = {
    "title": "Heat",
    "year": 1995,
    "genres": ["Crime", "Thriller"],
    "overview": "A group of professional bank robbers start to feel the heat from police "
    "when they unknowingly leave a clue at their latest heist.",
}
RONIN = {
    "title": "Ronin",
    "year": 1998,
    "genres": ["Action", "Thriller", "Crime"],
    "overview": "A freelancing former US intelligence agent tries to track down a mysterious package "
    "that is wanted by former IRA operatives and Russian mobsters, with shootouts and car chases.",
}
TOY_STORY = {
    "title": "Toy Story",
    "year": 1995,
    "genres": ["Animation", "Family", "Comedy"],
    "overview": "A cowboy doll is profoundly threatened and jealous when a new spaceman action figure "
    "supplants him as top toy in a boy's bedroom.",
}


@pytest.fixture(scope="module")
def shared_resources() -> JobResources:
    """One model load for the whole module, as the worker keeps it between runs."""
    return JobResources()


async def test_local_model_gives_unit_384_vectors_with_sensible_neighbours(
    shared_resources: JobResources,
) -> None:
    provider = LocalEmbeddingProvider(shared_resources.encoder)
    result = await provider.embed([movie_text(m) for m in (HEAT, RONIN, TOY_STORY)])
    assert result.failed == {} and result.requests == 0
    assert result.vectors.shape == (3, 384) and result.vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(result.vectors, axis=1), 1.0, atol=1e-5)
    heat, ronin, toy_story = result.vectors
    assert float(heat @ ronin) > float(heat @ toy_story)
    assert float(ronin @ heat) > float(ronin @ toy_story)
    assert shared_resources.encoder.encoder is not None


async def test_job_on_local_provider_stores_384_dim_vectors_and_keeps_the_model(
    db: asyncpg.Pool, run_job: Any, settings: Settings, shared_resources: JobResources
) -> None:
    await insert_movies(db, [movie_row(i) for i in range(3)])
    local = settings.model_copy(update={"embedding_provider": "auto", "openai_base_url": None})
    loaded = shared_resources.encoder.encoder
    row = await run_job("generate-movie-embeddings", settings=local, resources=shared_resources)
    assert row["status"] == "completed", row["error"]
    assert row["result"]["model"] == "all-MiniLM-L6-v2" and row["result"]["dimensions"] == 384
    assert row["result"]["embedded"] == 3 and row["result"]["requests"] == 0
    assert shared_resources.encoder.encoder is loaded  # not loaded again
    assert await db.fetchval("SELECT count(*) FROM movie_embeddings WHERE dimensions = 384") == 3


def test_auto_picks_openai_once_configured_and_local_rejects_other_models(settings: Settings) -> None:
    assert provider_from_settings(settings.model_copy(update={"embedding_provider": "auto"})).name == "openai"
    plain = settings.model_copy(update={"embedding_provider": "auto", "openai_base_url": None})
    assert provider_from_settings(plain).name == "local"
    with pytest.raises(EmbeddingSetupError, match="SIDECAR_EMBEDDING_MODEL"):
        provider_from_settings(plain.model_copy(update={"embedding_model": "text-embedding-3-small"}))
    with pytest.raises(EmbeddingSetupError, match="SIDECAR_OPENAI_API_KEY"):
        provider_from_settings(plain.model_copy(update={"embedding_provider": "openai"}))
