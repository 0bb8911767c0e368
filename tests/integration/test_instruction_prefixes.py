"""Instruction prefixes over real loopback HTTP: what each provider sends for passages and for
queries, and that a prefix is part of the model's identity in the registry."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from article_mcp.config import ProviderName
from article_mcp.db.pool import Database
from article_mcp.embeddings.providers import create_provider
from article_mcp.embeddings.providers.base import EmbeddingProvider
from article_mcp.embeddings.registry import configured_model
from article_mcp.search.query_vectors import QueryEmbedder
from tests.conftest import make_settings
from tests.support.fake_providers import FakeEmbeddingServer, fake_vector

pytestmark = pytest.mark.anyio

PASSAGES = ["Sourdough needs a lively starter.", "Cast iron wants oil after washing."]
QUERY = "how do I keep a starter alive"

Make = Callable[..., EmbeddingProvider]


@pytest.fixture
async def make(fake_server: FakeEmbeddingServer) -> AsyncIterator[Make]:
    made: list[EmbeddingProvider] = []

    def build(provider: ProviderName, **overrides: Any) -> EmbeddingProvider:
        made.append(create_provider(make_settings(**fake_server.settings(provider, **overrides))))
        return made[-1]

    yield build
    for provider in made:
        await provider.aclose()


async def test_ollama_sends_nomic_its_document_and_query_instructions(
    make: Make, fake_server: FakeEmbeddingServer
) -> None:
    ollama = make("ollama", embedding_model="nomic-embed-text")
    passages = await ollama.embed(PASSAGES)
    [query] = await QueryEmbedder(ollama, ttl_s=60, size=8, timeout_s=5).embed([QUERY])
    documents, queries = fake_server.calls
    assert documents.inputs == [f"search_document: {text}" for text in PASSAGES]
    assert queries.inputs == [f"search_query: {QUERY}"]
    # The vectors are those of the prefixed texts, not of the bare ones.
    assert passages.vectors[0] == pytest.approx(fake_vector(f"search_document: {PASSAGES[0]}"))
    assert list(query) == pytest.approx(fake_vector(f"search_query: {QUERY}"), abs=1e-6)


async def test_a_model_without_a_documented_prefix_gets_the_texts_as_they_are(
    make: Make, fake_server: FakeEmbeddingServer
) -> None:
    ollama = make("ollama", embedding_model="all-minilm")
    await ollama.embed(PASSAGES)
    await ollama.embed([QUERY], purpose="query")
    assert [call.inputs for call in fake_server.calls] == [PASSAGES, [QUERY]]


async def test_openai_compatible_e5_gets_query_and_passage_and_a_setting_wins(
    make: Make, fake_server: FakeEmbeddingServer
) -> None:
    e5 = make("openai", embedding_model="intfloat/e5-large-v2")
    await e5.embed(PASSAGES[:1])
    await e5.embed([QUERY], purpose="query")
    # An explicit setting wins, even empty: no query prefix, a document prefix of one's own.
    own = make("openai", embedding_model="intfloat/e5-large-v2", embedding_query_prefix="",
               embedding_document_prefix="doc: ")  # fmt: skip
    await own.embed(PASSAGES[:1])
    await own.embed([QUERY], purpose="query")
    assert [call.inputs for call in fake_server.calls] == [
        [f"passage: {PASSAGES[0]}"],
        [f"query: {QUERY}"],
        [f"doc: {PASSAGES[0]}"],
        [QUERY],
    ]


async def test_another_prefix_is_another_model(
    db: Database, make: Make, fake_server: FakeEmbeddingServer
) -> None:
    nomic = {"embedding_model": "nomic-embed-text"}
    bare = {**nomic, "embedding_query_prefix": "", "embedding_document_prefix": ""}
    async with db.pool.acquire() as conn:
        first, again, other = [
            await configured_model(
                conn, make("ollama", **chosen), make_settings(**fake_server.settings("ollama", **chosen))
            )
            for chosen in (nomic, nomic, bare)
        ]
    assert first.id == again.id != other.id
    assert (first.query_prefix, first.document_prefix) == ("search_query: ", "search_document: ")
    assert (other.query_prefix, other.document_prefix) == ("", "")
