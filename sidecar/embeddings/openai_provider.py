"""Any OpenAI-compatible embeddings endpoint (OpenAI, Ollama /v1, LM Studio, vLLM, TEI) via the `openai` SDK.

Many texts per request (up to `batch_size` and an estimated token budget), a few requests in
flight, bounded retries of our own (the SDK's are off so the count is ours), then the items count
as failed and the run goes on. A bad key or an unknown model fails the run at once.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import openai
import structlog
from openai import AsyncOpenAI

from sidecar.embeddings.base import EmbedResult, normalise_rows, stored_model_name
from sidecar.jobs.context import JobError

log = structlog.get_logger(__name__)

MAX_INPUTS_PER_REQUEST = 2048  # the API's limit
TOKEN_BUDGET_PER_REQUEST = 250_000  # estimated; the API allows 300,000, estimates can run low
CHARS_PER_TOKEN_ESTIMATE = 3.0  # conservative: English averages about 4
MAX_BACKOFF_SECONDS = 60.0
MAX_RETRY_AFTER_SECONDS = 300.0
REQUEST_TIMEOUT_SECONDS = 120.0
# Sent when no key is configured: local servers ignore it, the SDK refuses to run without one.
NO_KEY_PLACEHOLDER = "no-key"
_RETRYABLE_STATUS = {408, 409, 425, 429}


class _MalformedResponse(Exception):
    """A 200 whose body does not match the request (wrong count of vectors): retried like a 5xx."""


@dataclass
class _GroupOutcome:
    vectors: np.ndarray | None  # None = the group failed
    error: str | None = None
    tokens: int | None = None
    requests: int = 0


class OpenAIEmbeddingProvider:
    name = "openai"

    def __init__(
        self,
        *,
        model: str,
        dimensions: int | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        batch_size: int = 256,
        concurrency: int = 2,
        max_attempts: int = 5,
        retry_base_seconds: float = 1.0,
        token_budget: int = TOKEN_BUDGET_PER_REQUEST,
    ) -> None:
        self.api_model = model
        self.dimensions = dimensions
        self.model = stored_model_name(model, dimensions)
        self.batch_size = max(1, min(batch_size, MAX_INPUTS_PER_REQUEST))
        self.chunk_size = self.batch_size * concurrency
        self.max_attempts = max(1, max_attempts)
        self.retry_base_seconds = retry_base_seconds
        self.token_budget = token_budget
        self._client = AsyncOpenAI(
            api_key=api_key or NO_KEY_PLACEHOLDER,
            base_url=base_url,
            max_retries=0,
            timeout=REQUEST_TIMEOUT_SECONDS,
        )
        self._slots = asyncio.Semaphore(concurrency)
        self._send_dimensions = dimensions is not None
        # base64 is decoded straight into numpy (4x smaller than JSON floats); "float" after a rejection.
        self._encoding = "base64"
        self._any_success = False
        self._fatal: JobError | None = None

    async def aclose(self) -> None:
        await self._client.close()

    # --- planning -----------------------------------------------------------------------------------
    def plan_requests(self, texts: Sequence[str]) -> list[range]:
        """Consecutive index ranges, each within the input count and the estimated token budget."""
        groups: list[range] = []
        start, tokens = 0, 0.0
        for i, text in enumerate(texts):
            estimate = len(text) / CHARS_PER_TOKEN_ESTIMATE + 1
            if i > start and (i - start >= self.batch_size or tokens + estimate > self.token_budget):
                groups.append(range(start, i))
                start, tokens = i, 0.0
            tokens += estimate
        if start < len(texts):
            groups.append(range(start, len(texts)))
        return groups

    # --- embedding ----------------------------------------------------------------------------------
    async def embed(self, texts: list[str]) -> EmbedResult:
        groups = self.plan_requests(texts)
        tasks = [asyncio.create_task(self._embed_group([texts[i] for i in group])) for group in groups]
        try:
            outcomes = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        width = next((o.vectors.shape[1] for o in outcomes if o.vectors is not None), 0)
        vectors = np.zeros((len(texts), width), dtype=np.float32)
        failed: dict[int, str] = {}
        tokens: int | None = None
        requests = 0
        for group, outcome in zip(groups, outcomes, strict=True):
            requests += outcome.requests
            if outcome.tokens is not None:
                tokens = (tokens or 0) + outcome.tokens
            if outcome.vectors is None:
                failed.update({i: outcome.error or "failed" for i in group})
                continue
            # Rows of NaN are the items a halved, rejected request could not embed.
            rejected = np.isnan(outcome.vectors).any(axis=1)
            reason = outcome.error or "the server returned an invalid (zero or non-finite) vector"
            failed.update({group.start + int(j): reason for j in np.flatnonzero(rejected)})
            vectors[group.start : group.stop] = np.where(rejected[:, None], 0.0, outcome.vectors)
        return EmbedResult(vectors=vectors, failed=failed, prompt_tokens=tokens, requests=requests)

    async def _embed_group(self, texts: list[str]) -> _GroupOutcome:
        async with self._slots:
            if self._fatal is not None:  # a bad key or model: queued requests must not go out
                raise self._fatal
            try:
                return await self._embed_with_retries(texts)
            except JobError as exc:
                self._fatal = exc
                raise

    async def _embed_with_retries(self, texts: list[str]) -> _GroupOutcome:
        attempts = 0
        requests = 0
        while True:
            requests += 1
            try:
                vectors, tokens = await self._request(texts)
            except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
                raise JobError(
                    f"the embeddings server rejected the API key (HTTP {exc.status_code}); "
                    "check SIDECAR_OPENAI_API_KEY"
                ) from None
            except openai.NotFoundError:
                raise JobError(
                    f"the embeddings server does not know the model {self.api_model!r} (HTTP 404); "
                    "check SIDECAR_EMBEDDING_MODEL (and that SIDECAR_OPENAI_BASE_URL ends in /v1)"
                ) from None
            except openai.APIStatusError as exc:
                if _mentions_model_not_found(exc):
                    raise JobError(
                        f"the embeddings server does not know the model {self.api_model!r}; "
                        "check SIDECAR_EMBEDDING_MODEL"
                    ) from None
                if exc.status_code == 400 and self._send_dimensions and _mentions(exc, "dimensions"):
                    self._send_dimensions = False
                    log.warning(
                        "embeddings server rejects `dimensions`; retrying without it for the rest of the run",
                        model=self.api_model,
                        dimensions=self.dimensions,
                    )
                    continue
                if (
                    exc.status_code == 400
                    and self._encoding == "base64"
                    and _mentions(exc, "encoding_format")
                ):
                    self._encoding = "float"
                    continue
                if exc.status_code >= 500 or exc.status_code in _RETRYABLE_STATUS:
                    attempts += 1
                    reason = f"HTTP {exc.status_code}: {_short_message(exc)}"
                    if attempts >= self.max_attempts:
                        return _GroupOutcome(None, _gave_up(attempts, reason), requests=requests)
                    await asyncio.sleep(self._delay(attempts, exc))
                    continue
                # Anything else is about the input itself: find the bad item(s) by halving.
                reason = f"rejected (HTTP {exc.status_code}): {_short_message(exc)}"
                return await self._split_rejected(texts, reason, requests)
            except (openai.APIConnectionError, _MalformedResponse) as exc:
                attempts += 1
                if attempts >= self.max_attempts:
                    if not self._any_success:
                        raise JobError(
                            f"cannot reach the embeddings server ({type(exc).__name__}: {exc}) after "
                            f"{attempts} attempts; check SIDECAR_OPENAI_BASE_URL and that the server is running"
                        ) from None
                    return _GroupOutcome(
                        None, _gave_up(attempts, f"{type(exc).__name__}: {exc}"), requests=requests
                    )
                await asyncio.sleep(self._delay(attempts, None))
                continue
            self._any_success = True
            return _GroupOutcome(vectors, tokens=tokens, requests=requests)

    async def _split_rejected(self, texts: list[str], reason: str, requests: int) -> _GroupOutcome:
        if len(texts) == 1:
            return _GroupOutcome(None, reason, requests=requests)
        middle = len(texts) // 2
        halves = [await self._embed_with_retries(part) for part in (texts[:middle], texts[middle:])]
        requests += sum(h.requests for h in halves)
        tokens = sum(h.tokens or 0 for h in halves) if any(h.tokens is not None for h in halves) else None
        if all(h.vectors is None for h in halves):
            return _GroupOutcome(None, halves[0].error or reason, tokens=tokens, requests=requests)
        # Mixed: keep what worked; a group outcome is all-or-nothing, so failures become NaN rows.
        width = next(h.vectors.shape[1] for h in halves if h.vectors is not None)
        parts = [
            h.vectors if h.vectors is not None else np.full((n, width), np.nan, dtype=np.float32)
            for h, n in zip(halves, (middle, len(texts) - middle), strict=True)
        ]
        return _GroupOutcome(np.vstack(parts), tokens=tokens, requests=requests, error=reason)

    async def _request(self, texts: list[str]) -> tuple[np.ndarray, int | None]:
        kwargs: dict[str, object] = {}
        if self._send_dimensions and self.dimensions is not None:
            kwargs["dimensions"] = self.dimensions
        kwargs["encoding_format"] = self._encoding
        response = await self._client.embeddings.create(input=texts, model=self.api_model, **kwargs)  # type: ignore[arg-type]
        data = sorted(response.data, key=lambda item: item.index)
        if len(data) != len(texts):
            raise _MalformedResponse(f"the server returned {len(data)} vectors for {len(texts)} texts")
        try:
            vectors = np.stack([_as_vector(item.embedding) for item in data])
        except ValueError as exc:  # vectors of different lengths, bad base64
            raise _MalformedResponse(f"unusable vectors in the response: {exc}") from None
        vectors = self._fit_dimensions(vectors)
        usage = getattr(response, "usage", None)
        tokens = getattr(usage, "prompt_tokens", None) if usage is not None else None
        # A zero or non-finite row cannot be compared with anything: mark it NaN so it counts as failed.
        invalid = ~np.isfinite(vectors).all(axis=1) | ~vectors.any(axis=1)
        vectors = normalise_rows(vectors)
        vectors[invalid] = np.nan
        return vectors, tokens

    def _fit_dimensions(self, vectors: np.ndarray) -> np.ndarray:
        """Servers that ignore or reject `dimensions` return the native size: shorten like OpenAI does."""
        wanted = self.dimensions
        if wanted is None or vectors.shape[1] == wanted:
            return vectors
        if vectors.shape[1] < wanted:
            raise JobError(
                f"the embeddings server returns {vectors.shape[1]}-dimension vectors for {self.api_model!r}, "
                f"fewer than SIDECAR_EMBEDDING_DIMENSIONS={wanted}; lower it or unset it"
            )
        # Truncate then re-normalise (normalise_rows): valid for Matryoshka-trained models such as
        # text-embedding-3-*, an approximation for others.
        return vectors[:, :wanted]

    def _delay(self, attempt: int, exc: openai.APIStatusError | None) -> float:
        if exc is not None:
            after = _retry_after_seconds(exc)
            if after is not None:
                return min(after, MAX_RETRY_AFTER_SECONDS)
        backoff = self.retry_base_seconds * 2 ** (attempt - 1)
        return min(backoff, MAX_BACKOFF_SECONDS) * random.uniform(0.75, 1.25)


def _as_vector(embedding: object) -> np.ndarray:
    """One embedding as float32, whether the server honoured base64 or answered with a float list."""
    if isinstance(embedding, str):
        return np.frombuffer(base64.b64decode(embedding), dtype="<f4").astype(np.float32)
    return np.asarray(embedding, dtype=np.float32)


def _retry_after_seconds(exc: openai.APIStatusError) -> float | None:
    headers = exc.response.headers if exc.response is not None else {}
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, parsed.timestamp() - time.time())


def _mentions(exc: openai.APIStatusError, word: str) -> bool:
    return exc.param == word or word in _short_message(exc).lower()


def _mentions_model_not_found(exc: openai.APIStatusError) -> bool:
    return exc.code == "model_not_found"


def _short_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        message = body.get("message") or (body.get("error") or {}).get("message")
        if isinstance(message, str):
            return message[:300]
    return str(exc.message)[:300]


def _gave_up(attempts: int, reason: str) -> str:
    return f"gave up after {attempts} attempts: {reason}"
