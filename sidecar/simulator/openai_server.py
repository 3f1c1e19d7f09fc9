"""A fake OpenAI-compatible embeddings server: the real request/response shapes, deterministic vectors.

Tests, benchmarks and the demo point the real `openai` SDK at it (`base_url=<url>/v1`). Vectors are
feature-hashed bags of words, so texts sharing words are closer than texts that do not, and the
same text always gets the same vector. Faults are injected through `EmbeddingsFaults`: rate limits
with Retry-After, permanent 5xx for inputs carrying a marker, rejected `dimensions`, latency.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import math
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiohttp import web

# Native output size per model, as the real services report them.
DEFAULT_MODELS: dict[str, int] = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
    "nomic-embed-text": 768,
}
MAX_INPUTS_PER_REQUEST = 2048
MAX_TOKENS_PER_REQUEST = 300_000
MAX_TOKENS_PER_INPUT = 8192
_TOKEN = re.compile(r"\w+|[^\w\s]")
_WORD = re.compile(r"\w+")


@dataclass
class EmbeddingsFaults:
    """What the server does wrong; tests change these between or during runs."""

    rate_limit_next: int = 0  # the next n requests get 429
    retry_after_seconds: float = 1.0  # sent as retry-after-ms (and retry-after, rounded up)
    fail_marker: str | None = None  # any request with an input containing this gets 500, always
    reject_dimensions: bool = False  # 400 for any request that sends `dimensions`
    float_only: bool = False  # 400 for encoding_format=base64, like servers that only speak floats
    latency_seconds: float = 0.0


@dataclass
class RequestRecord:
    status: int
    inputs: int
    model: str | None
    dimensions: int | None
    encoding_format: str | None


@dataclass
class OpenAIEmbeddingsSimulator:
    """State of one fake server: accepted key, known models, faults and every request seen."""

    api_key: str | None = None  # None = no authentication (like a local Ollama)
    models: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_MODELS))
    faults: EmbeddingsFaults = field(default_factory=EmbeddingsFaults)
    requests: list[RequestRecord] = field(default_factory=list)

    @property
    def request_count(self) -> int:
        return len(self.requests)

    @property
    def successful_requests(self) -> int:
        return sum(1 for r in self.requests if r.status == 200)

    def create_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_get("/v1/models", self._models)
        return app

    # --- handlers -----------------------------------------------------------------------------------
    async def _models(self, request: web.Request) -> web.Response:
        if (denied := self._check_auth(request)) is not None:
            return denied
        data = [
            {"id": name, "object": "model", "created": 0, "owned_by": "simulator"} for name in self.models
        ]
        return web.json_response({"object": "list", "data": data})

    async def _embeddings(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return self._record(None, _error(400, "We could not parse the JSON body of your request."))
        if not isinstance(body, dict):
            return self._record(None, _error(400, "We could not parse the JSON body of your request."))
        response = await self._answer(request, body)
        return self._record(body, response)

    async def _answer(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        if self.faults.latency_seconds:
            await asyncio.sleep(self.faults.latency_seconds)
        if (denied := self._check_auth(request)) is not None:
            return denied
        model = body.get("model")
        if not isinstance(model, str) or not model:
            return _error(400, "you must provide a model parameter", param="model")
        if model not in self.models:
            return _error(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                code="model_not_found",
            )
        if self.faults.rate_limit_next > 0:
            self.faults.rate_limit_next -= 1
            return self._rate_limited()

        inputs = body.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not inputs or not all(isinstance(t, str) for t in inputs):
            return _error(400, "'$.input' is invalid. Please check the API reference.", param="input")
        if len(inputs) > MAX_INPUTS_PER_REQUEST:
            return _error(
                400,
                f"'$.input' is invalid: array too long, expected at most {MAX_INPUTS_PER_REQUEST} items.",
                param="input",
            )
        if any(t == "" for t in inputs):
            return _error(400, "'$.input' is invalid: empty strings are not allowed.", param="input")
        token_counts = [count_tokens(t) for t in inputs]
        if max(token_counts) > MAX_TOKENS_PER_INPUT:
            return _error(
                400,
                f"This model's maximum context length is {MAX_TOKENS_PER_INPUT} tokens, however you "
                f"requested {max(token_counts)} tokens. Please reduce your prompt.",
                param="input",
            )
        if sum(token_counts) > MAX_TOKENS_PER_REQUEST:
            return _error(
                400,
                f"Requested {sum(token_counts)} tokens, max {MAX_TOKENS_PER_REQUEST} tokens per request",
                param="input",
            )

        native = self.models[model]
        dimensions = body.get("dimensions")
        if dimensions is not None:
            if self.faults.reject_dimensions or not model.startswith("text-embedding-3"):
                return _error(400, "This model does not support specifying dimensions.", param="dimensions")
            if not isinstance(dimensions, int) or not 1 <= dimensions <= native:
                return _error(
                    400, f"Invalid value for 'dimensions': must be 1..{native}.", param="dimensions"
                )
        size = dimensions or native

        marker = self.faults.fail_marker
        if marker and any(marker in t for t in inputs):
            return _error(
                500,
                "The server had an error while processing your request. Sorry about that!",
                error_type="server_error",
            )

        encoding = body.get("encoding_format") or "float"
        if encoding not in ("float", "base64") or (encoding == "base64" and self.faults.float_only):
            return _error(400, f"Invalid value for 'encoding_format': {encoding!r}.", param="encoding_format")
        vectors = np.stack([text_vector(t, native)[:size] for t in inputs])
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        data = [
            {"object": "embedding", "index": i, "embedding": _encode(vectors[i], encoding)}
            for i in range(len(inputs))
        ]
        tokens = sum(token_counts)
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "model": model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    # --- helpers ------------------------------------------------------------------------------------
    def _check_auth(self, request: web.Request) -> web.Response | None:
        if self.api_key is None:
            return None
        if request.headers.get("Authorization", "") == f"Bearer {self.api_key}":
            return None
        return _error(
            401,
            "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
            code="invalid_api_key",
        )

    def _rate_limited(self) -> web.Response:
        seconds = self.faults.retry_after_seconds
        response = _error(
            429,
            "Rate limit reached for requests. Please try again later.",
            error_type="requests",
            code="rate_limit_exceeded",
        )
        response.headers["retry-after-ms"] = str(round(seconds * 1000))
        response.headers["retry-after"] = str(math.ceil(seconds))
        return response

    def _record(self, body: dict[str, Any] | None, response: web.Response) -> web.Response:
        body = body or {}
        inputs = body.get("input")
        count = len(inputs) if isinstance(inputs, list) else (1 if isinstance(inputs, str) else 0)
        dimensions = body.get("dimensions")
        self.requests.append(
            RequestRecord(
                status=response.status,
                inputs=count,
                model=body.get("model"),
                dimensions=dimensions if isinstance(dimensions, int) else None,
                encoding_format=body.get("encoding_format"),
            )
        )
        return response


def count_tokens(text: str) -> int:
    """Roughly what a BPE tokenizer reports: one per word or punctuation mark."""
    return len(_TOKEN.findall(text))


def text_vector(text: str, size: int) -> np.ndarray:
    """A deterministic, unnormalised bag-of-words vector: shared words mean nearby vectors.

    Like Matryoshka-trained models, the leading dimensions carry signal on their own: every word
    also lands in the first 64, so a vector cut to `dimensions` is still meaningful.
    """
    vector = np.zeros(size, dtype=np.float32)
    head = min(size, 64)
    words = _WORD.findall(text.lower()) or [text]
    for word in words:
        digest = hashlib.blake2b(word.encode("utf-8"), digest_size=32).digest()
        for j in range(8):
            value = int.from_bytes(digest[j * 4 : j * 4 + 4], "little")
            position = value % (head if j < 4 else size)
            vector[position] += 1.0 if value & 0x80000000 else -1.0
    if not vector.any():
        vector[0] = 1.0
    return vector


def _encode(vector: np.ndarray, encoding: str) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    return [float(x) for x in vector]


def _error(
    status: int,
    message: str,
    *,
    error_type: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> web.Response:
    payload = {"error": {"message": message, "type": error_type, "param": param, "code": code}}
    return web.json_response(payload, status=status)


@contextlib.asynccontextmanager
async def serve(
    simulator: OpenAIEmbeddingsSimulator, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Run the simulator on a real socket; yields the base URL the SDK wants (`http://host:port/v1`)."""
    runner = web.AppRunner(simulator.create_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    try:
        sockets = site._server.sockets if site._server is not None else []  # type: ignore[union-attr]
        bound_port = sockets[0].getsockname()[1]
        yield f"http://{host}:{bound_port}/v1"
    finally:
        await runner.cleanup()
