"""Many texts to vectors in as few provider calls as the batch sizes allow."""

from __future__ import annotations

from collections.abc import Sequence

from article_mcp.embeddings.providers.base import (
    EmbeddingBatch,
    EmbeddingProvider,
    UsageSource,
    least_certain,
)
from article_mcp.errors import PermanentProviderError


async def embed_texts(provider: EmbeddingProvider, texts: Sequence[str], batch_size: int) -> EmbeddingBatch:
    """Embed `texts` in calls of at most `batch_size` (EMBEDDING_PROVIDER_BATCH_SIZE) and the
    provider's own limit, as passages; the vectors in input order and the tokens of all the calls.

    Calls go one after another: parallelism comes from the workers, and the provider's rate
    limiter paces them. The first failing call raises its `ProviderError`.
    """
    step = max(1, min(batch_size, provider.max_batch_size))
    vectors: list[list[float]] = []
    tokens = 0
    sources: list[UsageSource] = []
    for start in range(0, len(texts), step):
        part = texts[start : start + step]
        batch = await provider.embed(part)
        if len(batch.vectors) != len(part):
            raise PermanentProviderError(
                f"{provider.name} model {provider.model} returned {len(batch.vectors)} vectors"
                f" for {len(part)} texts"
            )
        vectors.extend(batch.vectors)
        tokens += batch.tokens
        sources.append(batch.usage_source)
    return EmbeddingBatch(vectors, tokens, least_certain(sources))
