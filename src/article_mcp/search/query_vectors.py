"""Query vectors for search: one provider call for the phrasings not seen lately.

A small cache (least recently used, entries expire after a while) answers repeated queries
without the provider: agents often search the same words again within a conversation. Its key
is the text the model gets, query prefix included: another prefix is another vector.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import anyio
import numpy as np
from cachetools import TTLCache

from article_mcp.embeddings.providers.base import EmbeddingProvider
from article_mcp.errors import TransientProviderError
from article_mcp.search.fusion import Vector

WARM_UP_TEXT = "warm up"


class QueryEmbedder:
    """Embeds search queries through one provider, remembering recent ones."""

    def __init__(
        self,
        provider: EmbeddingProvider,
        *,
        ttl_s: float,
        size: int,
        timeout_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._provider = provider
        self._timeout = timeout_s
        self._cache: TTLCache[tuple[str, str], Vector, float] = TTLCache(maxsize=size, ttl=ttl_s, timer=clock)

    async def embed(self, queries: Sequence[str]) -> list[Vector]:
        """Unit vectors of the queries, in order; raises ProviderError when the provider fails."""
        found: dict[str, Vector] = {}
        for query in dict.fromkeys(queries):
            vector = self._cache.get(self._key(query))
            if vector is not None:
                found[query] = vector
        missing = [q for q in dict.fromkeys(queries) if q not in found]
        if missing:
            found.update(await self._fetch(missing))
        return [found[q] for q in queries]

    async def warm_up(self) -> None:
        """Make the provider ready (a local model loads on first use), without a time limit."""
        await self._provider.embed([WARM_UP_TEXT], purpose="query")

    def _key(self, query: str) -> tuple[str, str]:
        return (self._provider.prefixes.query.text, query)

    async def _fetch(self, queries: list[str]) -> dict[str, Vector]:
        fetched: dict[str, Vector] = {}
        step = max(1, self._provider.max_batch_size)
        with anyio.move_on_after(self._timeout) as scope:
            for start in range(0, len(queries), step):
                batch = queries[start : start + step]
                result = await self._provider.embed(batch, purpose="query")
                fetched.update(zip(batch, map(_unit, result.vectors), strict=True))
        if scope.cancelled_caught:
            raise TransientProviderError(
                f"the embedding provider did not answer within {self._timeout:g} s (SEARCH_EMBED_TIMEOUT)"
            )
        if self._cache.maxsize > 0:  # a cache of size 0 refuses every entry (cachetools raises)
            self._cache.update({self._key(query): vector for query, vector in fetched.items()})
        return fetched


def _unit(values: Sequence[float]) -> Vector:
    vector = np.asarray(values, dtype=np.float32)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
