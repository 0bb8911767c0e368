"""Embedding providers: one protocol (`base.EmbeddingProvider`), three implementations.

`create_provider(settings)` builds the one EMBEDDING_PROVIDER names. Only `local` imports
sentence-transformers, and only when it loads its model.
"""

from __future__ import annotations

from article_mcp.config import Settings
from article_mcp.embeddings.providers.base import EmbeddingBatch, EmbeddingProvider
from article_mcp.embeddings.providers.local import LocalProvider
from article_mcp.embeddings.providers.ollama import OllamaProvider
from article_mcp.embeddings.providers.openai import OpenAIProvider
from article_mcp.embeddings.providers.ratelimit import Limiter

__all__ = ["EmbeddingBatch", "EmbeddingProvider", "create_provider"]


def create_provider(
    settings: Settings, *, model: str | None = None, limiter: Limiter | None = None
) -> EmbeddingProvider:
    """The provider EMBEDDING_PROVIDER names, for EMBEDDING_MODEL (or `model`).

    An HTTP provider waits on `limiter` before each call (the shared budget of
    `embeddings.shared_limit`), or on a limiter of this process's own when none is given; the
    local model has no rate limit.

    Raises ConfigError when it cannot work at all (no API key, the [local] extra missing).
    """
    if settings.embedding_provider == "ollama":
        return OllamaProvider(settings, model=model, limiter=limiter)
    if settings.embedding_provider == "openai":
        return OpenAIProvider(settings, model=model, limiter=limiter)
    return LocalProvider(settings, model=model)
