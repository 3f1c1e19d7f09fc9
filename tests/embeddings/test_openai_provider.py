"""The OpenAI-compatible provider through the real `openai` SDK against the fake embeddings server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest

from sidecar.embeddings.openai_provider import OpenAIEmbeddingProvider
from sidecar.jobs.context import JobError
from sidecar.simulator.openai_server import text_vector
from tests.embeddings.conftest import TEST_KEY, LiveSimulator


@pytest.fixture
async def make_provider(openai_server: LiveSimulator) -> AsyncIterator[Any]:
    made: list[OpenAIEmbeddingProvider] = []

    def _make(**overrides: Any) -> OpenAIEmbeddingProvider:
        options: dict[str, Any] = {
            "model": "text-embedding-3-small",
            "base_url": openai_server.base_url,
            "api_key": TEST_KEY,
            "batch_size": 4,
            "concurrency": 2,
            "max_attempts": 3,
            "retry_base_seconds": 0.01,
        }
        options.update(overrides)
        provider = OpenAIEmbeddingProvider(**options)
        made.append(provider)
        return provider

    yield _make
    for provider in made:
        await provider.aclose()


def _expected(text: str, native: int, dimensions: int | None = None) -> np.ndarray:
    vector = text_vector(text, native)[: dimensions or native]
    return vector / np.linalg.norm(vector)


async def test_many_texts_per_request_in_order(make_provider: Any, openai_server: LiveSimulator) -> None:
    provider = make_provider(batch_size=256)
    texts = [f"movie number {i} with words" for i in range(1000)]
    result = await provider.embed(texts)
    assert result.failed == {}
    assert openai_server.sim.request_count == 4 == result.requests
    assert [r.inputs for r in openai_server.sim.requests] == [256, 256, 256, 232]
    assert result.vectors.shape == (1000, 1536) and result.vectors.dtype == np.float32
    for i in (0, 255, 256, 999):  # rows line up with their texts across request boundaries
        np.testing.assert_allclose(result.vectors[i], _expected(texts[i], 1536), atol=1e-6)
    assert result.prompt_tokens == sum(len(t.split()) for t in texts)


async def test_requests_also_capped_by_estimated_tokens(make_provider: Any) -> None:
    provider = make_provider(batch_size=100, token_budget=1000)
    texts = ["word " * 300] * 10  # about 500 estimated tokens each
    groups = provider.plan_requests(texts)
    assert [len(g) for g in groups] == [1] * 10
    short = provider.plan_requests(["a b"] * 250)
    assert [len(g) for g in short] == [100, 100, 50]


async def test_rate_limit_honours_retry_after_then_succeeds(
    make_provider: Any, openai_server: LiveSimulator
) -> None:
    openai_server.sim.faults.rate_limit_next = 2
    openai_server.sim.faults.retry_after_seconds = 0.05
    # Without Retry-After the backoff would be 1000 s: finishing at all shows the header was used.
    provider = make_provider(retry_base_seconds=1000.0, max_attempts=5, concurrency=1)
    result = await asyncio.wait_for(provider.embed(["one", "two", "three"]), timeout=30)
    assert result.failed == {}
    assert [r.status for r in openai_server.sim.requests] == [429, 429, 200]
    assert result.requests == 3


async def test_batch_that_keeps_failing_is_counted_with_bounded_attempts(
    make_provider: Any, openai_server: LiveSimulator
) -> None:
    openai_server.sim.faults.fail_marker = "POISON"
    provider = make_provider(max_attempts=3)
    texts = [f"text {i}" for i in range(10)]
    texts[5] = "text POISON"
    result = await provider.embed(texts)
    assert set(result.failed) == {4, 5, 6, 7}
    assert "3 attempts" in result.failed[5] and "500" in result.failed[5]
    statuses = [r.status for r in openai_server.sim.requests]
    assert statuses.count(500) == 3 and statuses.count(200) == 2
    assert not result.vectors[4:8].any()
    np.testing.assert_allclose(result.vectors[9], _expected("text 9", 1536), atol=1e-6)


async def test_rejected_input_is_isolated_by_halving(make_provider: Any) -> None:
    provider = make_provider(batch_size=8, concurrency=1)
    texts = [f"text {i}" for i in range(8)]
    texts[3] = ""  # the API answers 400 for an empty input
    result = await provider.embed(texts)
    assert set(result.failed) == {3}
    assert "400" in result.failed[3]
    assert np.allclose(np.linalg.norm(result.vectors[[0, 1, 2, 4, 5, 6, 7]], axis=1), 1.0)


async def test_bad_key_fails_at_once_without_leaking_it(
    openai_server: LiveSimulator, make_provider: Any
) -> None:
    provider = make_provider(api_key="sk-wrong-secret-value")
    with pytest.raises(JobError) as raised:
        await provider.embed([f"t {i}" for i in range(20)])
    assert "SIDECAR_OPENAI_API_KEY" in str(raised.value)
    assert "sk-wrong-secret-value" not in str(raised.value)
    assert openai_server.sim.request_count <= 2  # the two in flight; no retries


async def test_unknown_model_fails_at_once(openai_server: LiveSimulator, make_provider: Any) -> None:
    provider = make_provider(model="no-such-model", concurrency=1)
    with pytest.raises(JobError, match="SIDECAR_EMBEDDING_MODEL"):
        await provider.embed(["a", "b"])
    assert openai_server.sim.request_count == 1


async def test_dimensions_rejected_once_then_left_out(
    openai_server: LiveSimulator, make_provider: Any
) -> None:
    openai_server.sim.faults.reject_dimensions = True
    provider = make_provider(dimensions=128, concurrency=1)
    assert provider.model == "text-embedding-3-small@128"
    texts = [f"film {i}" for i in range(12)]
    result = await provider.embed(texts)
    assert result.failed == {}
    sent = [(r.status, r.dimensions) for r in openai_server.sim.requests]
    assert sent == [(400, 128), (200, None), (200, None), (200, None)]
    assert result.vectors.shape == (12, 128)
    # Shortened on our side exactly as the server would have: same vectors, unit length.
    np.testing.assert_allclose(result.vectors[7], _expected(texts[7], 1536, 128), atol=1e-6)
    await provider.embed(["later"])  # remembered for the rest of the run
    assert openai_server.sim.requests[-1].dimensions is None


async def test_unreachable_server_fails_run_naming_base_url() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = OpenAIEmbeddingProvider(
        model="text-embedding-3-small",
        base_url=f"http://127.0.0.1:{port}/v1",
        api_key=None,
        max_attempts=2,
        retry_base_seconds=0.01,
    )
    try:
        with pytest.raises(JobError, match="SIDECAR_OPENAI_BASE_URL"):
            await provider.embed(["a"])
    finally:
        await provider.aclose()


async def test_servers_without_base64_get_float_lists(
    openai_server: LiveSimulator, make_provider: Any
) -> None:
    openai_server.sim.faults.float_only = True
    provider = make_provider(concurrency=1)
    result = await provider.embed(["alpha", "beta", "gamma", "delta", "epsilon"])
    assert result.failed == {}
    assert [(r.status, r.encoding_format) for r in openai_server.sim.requests] == [
        (400, "base64"),
        (200, "float"),
        (200, "float"),
    ]
    np.testing.assert_allclose(result.vectors[4], _expected("epsilon", 1536), atol=1e-6)
