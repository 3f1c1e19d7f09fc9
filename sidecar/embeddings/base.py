"""The one interface every embedding provider implements, and what a call returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass
class EmbedResult:
    """Vectors for one `embed()` call, row i for text i.

    Items a provider gave up on (after bounded retries) are listed in `failed` (index -> reason);
    their rows hold zeros and must not be stored. Vectors are L2-normalised float32.
    """

    vectors: np.ndarray
    failed: dict[int, str] = field(default_factory=dict)
    prompt_tokens: int | None = None  # None when the provider reports no usage
    requests: int = 0  # HTTP requests made, retries included

    @property
    def dimensions(self) -> int:
        return int(self.vectors.shape[1]) if self.vectors.ndim == 2 else 0


class EmbeddingProvider(Protocol):
    """Turns texts into vectors. `model` is the name stored beside every vector it makes."""

    name: str  # "openai" or "local"
    model: str  # stored model name, with dimensions when set: "text-embedding-3-small@512"
    dimensions: int | None  # requested output size; None = the model's own
    chunk_size: int  # texts per `embed()` call that keep the provider fully busy

    async def embed(self, texts: list[str]) -> EmbedResult:
        """Embed `texts`; raises `JobError` only for failures a person must fix (bad key, unknown model)."""
        ...

    async def aclose(self) -> None:
        """Release connections; the provider is not used afterwards."""
        ...


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    """Unit-length rows, so cosine distance and dot product agree whatever the server returned."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (vectors / norms).astype(np.float32, copy=False)


def stored_model_name(model: str, dimensions: int | None) -> str:
    """The name kept with each vector: a different output size is a different vector space."""
    return f"{model}@{dimensions}" if dimensions else model
