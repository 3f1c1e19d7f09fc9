"""Pick and configure the embedding provider from settings."""

from __future__ import annotations

from sidecar.embeddings.base import EmbeddingProvider
from sidecar.embeddings.local_provider import (
    LOCAL_MODEL_ALIASES,
    LOCAL_MODEL_DIMENSIONS,
    EncoderCache,
    LocalEmbeddingProvider,
)
from sidecar.embeddings.openai_provider import OpenAIEmbeddingProvider
from sidecar.settings import Settings

DEFAULT_OPENAI_MODEL = "text-embedding-3-small"


class EmbeddingSetupError(ValueError):
    """The embedding settings cannot work; the message names the setting to change."""


def resolved_provider_name(settings: Settings) -> str:
    """`auto` means OpenAI-compatible once a key or a base URL is configured, else the local model."""
    if settings.embedding_provider != "auto":
        return settings.embedding_provider
    return "openai" if settings.openai_api_key or settings.openai_base_url else "local"


def provider_from_settings(settings: Settings, encoder: EncoderCache | None = None) -> EmbeddingProvider:
    """A ready provider; raises `EmbeddingSetupError` naming the setting when the configuration cannot work."""
    if resolved_provider_name(settings) == "openai":
        api_key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        if not api_key and not settings.openai_base_url:
            raise EmbeddingSetupError(
                "the openai embedding provider needs SIDECAR_OPENAI_API_KEY (OpenAI) or "
                "SIDECAR_OPENAI_BASE_URL (a local OpenAI-compatible server such as Ollama)"
            )
        return OpenAIEmbeddingProvider(
            model=settings.embedding_model or DEFAULT_OPENAI_MODEL,
            dimensions=settings.embedding_dimensions,
            base_url=settings.openai_base_url,
            api_key=api_key,
            batch_size=settings.embedding_batch_size,
            concurrency=settings.embedding_concurrency,
            max_attempts=settings.embedding_max_attempts,
            retry_base_seconds=settings.embedding_retry_base_seconds,
        )
    if settings.embedding_model and settings.embedding_model.lower() not in LOCAL_MODEL_ALIASES:
        raise EmbeddingSetupError(
            f"the local embedding provider only runs all-MiniLM-L6-v2, not {settings.embedding_model!r}; "
            "unset SIDECAR_EMBEDDING_MODEL, or set SIDECAR_OPENAI_BASE_URL to a server that has that model"
        )
    if settings.embedding_dimensions not in (None, LOCAL_MODEL_DIMENSIONS):
        raise EmbeddingSetupError(
            f"the local model makes {LOCAL_MODEL_DIMENSIONS}-dimension vectors; unset SIDECAR_EMBEDDING_DIMENSIONS"
        )
    return LocalEmbeddingProvider(encoder)
