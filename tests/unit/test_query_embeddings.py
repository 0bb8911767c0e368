"""Query vectors: one provider call for new phrasings, a brief cache, a time limit."""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import numpy as np
import pytest

from article_mcp.config import InstructionPrefixes, Prefix
from article_mcp.embeddings.providers.base import EmbeddingBatch, Purpose
from article_mcp.errors import TransientProviderError
from article_mcp.search.query_vectors import QueryEmbedder

pytestmark = pytest.mark.anyio


class CountingEmbedder:
    """A test double: a vector from the text's length, every call recorded."""

    name = "fake"
    model = "fake-model"
    max_batch_size = 2

    def __init__(self, delay: float = 0) -> None:
        self.calls: list[list[str]] = []
        self.purposes: set[Purpose] = set()
        self.delay = delay
        self.prefixes = InstructionPrefixes(Prefix("", "none"), Prefix("", "none"))

    async def embed(self, texts: Sequence[str], *, purpose: Purpose = "document") -> EmbeddingBatch:
        self.calls.append(list(texts))
        self.purposes.add(purpose)
        await anyio.sleep(self.delay)
        return EmbeddingBatch([[float(len(t)), 1.0, 0.0] for t in texts])

    async def aclose(self) -> None:
        return None


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_repeated_queries_do_not_call_the_provider_again() -> None:
    provider = CountingEmbedder()
    embedder = QueryEmbedder(provider, ttl_s=60, size=10, timeout_s=5)
    first = await embedder.embed(["wing", "shock", "wing"])
    assert provider.calls == [["wing", "shock"]]
    again = await embedder.embed(["shock", "wing"])
    assert provider.calls == [["wing", "shock"]]
    assert np.allclose(again[1], first[0])
    assert np.isclose(np.linalg.norm(first[0]), 1.0)
    assert provider.purposes == {"query"}


async def test_the_cache_key_includes_the_query_prefix() -> None:
    provider = CountingEmbedder()
    embedder = QueryEmbedder(provider, ttl_s=60, size=10, timeout_s=5)
    await embedder.embed(["wing"])
    provider.prefixes = InstructionPrefixes(Prefix("query: ", "E5"), Prefix("passage: ", "E5"))
    await embedder.embed(["wing"])
    assert provider.calls == [["wing"], ["wing"]]


async def test_new_phrasings_are_sent_in_batches_of_the_provider_size() -> None:
    provider = CountingEmbedder()
    embedder = QueryEmbedder(provider, ttl_s=60, size=10, timeout_s=5)
    await embedder.embed(["a", "bb", "ccc"])
    assert provider.calls == [["a", "bb"], ["ccc"]]


async def test_entries_expire_and_the_least_recent_is_evicted() -> None:
    provider, clock = CountingEmbedder(), Clock()
    embedder = QueryEmbedder(provider, ttl_s=10, size=2, timeout_s=5, clock=clock)
    await embedder.embed(["a"])
    await embedder.embed(["b"])
    await embedder.embed(["a"])  # a is now the most recent
    await embedder.embed(["c"])  # evicts b
    provider.calls.clear()
    await embedder.embed(["a", "b"])
    assert provider.calls == [["b"]]
    clock.now = 11
    provider.calls.clear()
    await embedder.embed(["a"])
    assert provider.calls == [["a"]]


async def test_an_entry_lives_for_the_ttl_from_when_it_was_fetched() -> None:
    provider, clock = CountingEmbedder(), Clock()
    embedder = QueryEmbedder(provider, ttl_s=10, size=10, timeout_s=5, clock=clock)
    await embedder.embed(["a"])
    clock.now = 9.5
    await embedder.embed(["a"])  # a hit does not extend the entry's life
    assert provider.calls == [["a"]]
    clock.now = 10
    await embedder.embed(["a"])
    assert provider.calls == [["a"], ["a"]]


async def test_without_a_cache_vectors_still_come_back() -> None:
    provider = CountingEmbedder()
    embedder = QueryEmbedder(provider, ttl_s=10, size=0, timeout_s=5)
    assert len(await embedder.embed(["a", "a"])) == 2
    assert len(await embedder.embed(["a"])) == 1
    assert provider.calls == [["a"], ["a"]]


async def test_a_slow_provider_is_a_transient_error_naming_the_setting() -> None:
    embedder = QueryEmbedder(CountingEmbedder(delay=5), ttl_s=10, size=10, timeout_s=0.05)
    with pytest.raises(TransientProviderError, match="SEARCH_EMBED_TIMEOUT"):
        await embedder.embed(["a"])


async def test_warming_up_calls_the_provider_without_caching_or_a_time_limit() -> None:
    provider = CountingEmbedder(delay=0.1)
    embedder = QueryEmbedder(provider, ttl_s=10, size=10, timeout_s=0.01)
    await embedder.warm_up()
    assert provider.calls == [["warm up"]]
    provider.delay = 0
    await embedder.embed(["warm up"])
    assert provider.calls == [["warm up"], ["warm up"]]
