"""Search with the real local model over a small corpus the tests ship (tests/data)."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from article_mcp.articles.service import ArticleService
from article_mcp.config import Settings
from article_mcp.db.pool import Database, create_pool
from article_mcp.embeddings import lifecycle
from article_mcp.embeddings.providers import create_provider
from article_mcp.embeddings.providers.base import EmbeddingBatch, EmbeddingProvider, Purpose
from article_mcp.embeddings.registry import ModelRecord, ensure_model, record_dimensions
from article_mcp.errors import InvalidInputError, UnavailableError
from article_mcp.queue import tasks as queue
from article_mcp.search.models import SearchRequest, SearchResponse
from article_mcp.search.service import SearchService
from article_mcp.worker.runs import embed_now
from tests.conftest import TEMPLATE, create_database, drop_database, make_settings

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

CORPUS = json.loads((Path(__file__).parents[1] / "data" / "search_corpus.json").read_text())


@pytest.fixture(scope="module")
async def local_provider() -> AsyncIterator[EmbeddingProvider]:
    """The local all-MiniLM-L6-v2, loaded once for the module."""
    provider = create_provider(make_settings(None, embedding_provider="local"))
    try:
        yield provider
    finally:
        await provider.aclose()


@dataclass
class Library:
    """The shipped corpus, written and embedded, with the services over it."""

    settings: Settings
    db: Database
    model: ModelRecord
    provider: EmbeddingProvider
    articles: ArticleService
    slugs: dict[str, str]  # title -> slug

    def service(self, provider: EmbeddingProvider | None = None, **overrides: Any) -> SearchService:
        settings = self.settings.model_copy(update=overrides)
        return SearchService(settings, self.db, provider or self.provider, self.model)

    async def search(self, query: str, **request: Any) -> SearchResponse:
        return await self.service().search(SearchRequest(query=query, **request))

    async def embed(self, task_ids: Sequence[int | None]) -> None:
        await embed_now(self.settings, self.db, self.provider, self.model, [t for t in task_ids if t])


@asynccontextmanager
async def build_library(dsn: str, provider: EmbeddingProvider, data_dir: Path) -> AsyncIterator[Library]:
    settings = make_settings(dsn, article_mcp_data_dir=data_dir, embedding_provider="local")
    pool = await create_pool(dsn, min_size=1, max_size=4)
    db = Database(pool=pool, dsn=dsn)
    try:
        async with db.pool.acquire() as conn:
            model = await ensure_model(conn, provider, settings.embedding_model_name)
        articles = ArticleService(settings, db, model.id)
        library = Library(settings, db, model, provider, articles, {})
        tasks = []
        for entry in CORPUS:
            written = await articles.create(
                entry["title"],
                entry["content"],
                folder=entry["folder"],
                tags=entry["tags"],
                no_rag=entry.get("no_rag", False),
            )
            library.slugs[entry["title"]] = written.slug
            tasks.append(written.embedding_task_id)
        await library.embed(tasks)
        async with db.pool.acquire() as conn:
            library.model = await ensure_model(conn, provider, settings.embedding_model_name)
        yield library
    finally:
        await pool.close()


@pytest.fixture(scope="module")
async def shared(
    pg_server: str,
    template_dsn: str,
    local_provider: EmbeddingProvider,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Library]:
    """The corpus, written once for the tests that only read it."""
    dsn = await create_database(pg_server, TEMPLATE)
    try:
        async with build_library(dsn, local_provider, tmp_path_factory.mktemp("data")) as library:
            yield library
    finally:
        await drop_database(pg_server, dsn)


@pytest.fixture
async def library(
    database_url: str, local_provider: EmbeddingProvider, tmp_path: Path
) -> AsyncIterator[Library]:
    """The corpus in a database of the test's own, for tests that write."""
    async with build_library(database_url, local_provider, tmp_path) as built:
        yield built


def slugs_of(response: SearchResponse) -> list[str]:
    return [hit.slug for hit in response.results]


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("how do I keep a standby database in sync with the primary", "Streaming replication in PostgreSQL"),
        ("my dough is not rising because the kitchen is cold", "Sourdough bread from scratch"),
        ("a container keeps restarting right after it crashes", "Kubernetes pod restarts"),
        ("take back a commit I made by mistake", "Undoing a commit with git"),
        ("old row versions make my tables grow", "Vacuum and table bloat"),
    ],
)
async def test_the_relevant_article_ranks_first(shared: Library, mode: str, query: str, title: str) -> None:
    response = await shared.search(query, mode=mode)
    assert slugs_of(response)[0] == shared.slugs[title]
    assert response.searched == (["semantic"] if mode == "semantic" else ["fulltext", "semantic"])
    assert not response.fallback
    assert response.model == shared.model.name
    top = response.results[0]
    assert top.embedding_status == "ready"
    assert top.semantic_score is not None and 0 < top.semantic_score <= 1


async def test_results_are_articles_with_their_best_passages(shared: Library) -> None:
    response = await shared.search("promote the standby when the primary dies", passages=2)
    top = response.results[0]
    assert top.slug == shared.slugs["Streaming replication in PostgreSQL"]
    assert top.passages[0].heading_path == ["Failover"]
    assert "pg_ctl promote" in top.passages[0].text
    assert len(top.passages) <= 2
    assert len(set(slugs_of(response))) == len(response.results)


async def test_hybrid_finds_an_exact_identifier_that_vectors_miss(shared: Library) -> None:
    export = shared.slugs["Nightly export failures"]
    near_miss = shared.slugs["Scheduler error KX-4417-B"]
    semantic = await shared.search("KX-4471-B", mode="semantic")
    fulltext = await shared.search("KX-4471-B", mode="fulltext")
    hybrid = await shared.search("KX-4471-B", mode="hybrid")
    # To the model, KX-4471-B and KX-4417-B are nearly the same string.
    assert slugs_of(semantic)[0] == near_miss
    assert slugs_of(fulltext)[0] == export
    assert slugs_of(hybrid)[0] == export
    assert hybrid.results[0].matched_by == "both"
    assert hybrid.results[0].passages[0].matched_by in ("fulltext", "both")


@pytest.mark.parametrize("mode", ["semantic", "fulltext", "hybrid"])
async def test_folder_filters_take_subfolders_and_tags_take_all(shared: Library, mode: str) -> None:
    databases = await shared.search("tables and indexes of a database", mode=mode, folder="databases")
    assert databases.results
    assert {hit.folder for hit in databases.results} <= {"databases/postgres", "databases/mysql"}
    baking = await shared.search("bread", mode=mode, folder="cooking")
    assert shared.slugs["Sourdough bread from scratch"] in slugs_of(baking)  # in cooking/baking
    runbooks = await shared.search("a job failed", mode=mode, tags=["runbook", "scheduler"])
    assert slugs_of(runbooks) == [shared.slugs["Scheduler error KX-4417-B"]]
    nothing = await shared.search("bread", mode=mode, folder="cook")  # a prefix is not a parent folder
    assert nothing.results == []


@pytest.mark.parametrize("mode", ["semantic", "fulltext", "hybrid"])
async def test_no_rag_articles_never_appear(shared: Library, mode: str) -> None:
    private = shared.slugs["Personal salary notes"]
    for query in ("personal salary notes", "KX-4471-B", "standby server replication", "private note"):
        response = await shared.search(query, mode=mode, k=20)
        assert private not in slugs_of(response)


async def test_a_new_article_is_found_through_full_text_and_marked_pending(library: Library) -> None:
    await library.articles.create("Zebra migration", "Herds of zebra cross the Mara river every July.")
    slug = "zebra-migration"
    hybrid = await library.search("zebra herds crossing a river")
    hit = next(h for h in hybrid.results if h.slug == slug)
    assert hit.embedding_status == "pending"
    assert hit.matched_by == "fulltext"
    assert hit.semantic_score is None
    semantic = await library.search("zebra herds crossing a river", mode="semantic")
    assert slug not in slugs_of(semantic)


async def test_an_edited_article_not_yet_reembedded_is_marked_stale(library: Library) -> None:
    slug = library.slugs["Streaming replication in PostgreSQL"]
    article = await library.articles.get(slug)
    edited = article.content.replace("pg_ctl promote", "pg_ctl promote or pg_promote()")
    await library.articles.update(slug, content=edited)
    async with library.db.pool.acquire() as conn:
        article_id = await conn.fetchval("SELECT id FROM articles WHERE slug = $1", slug)
        await queue.cancel_for_articles(conn, [article_id], reason="test: never embedded")
    response = await library.search("how do I keep a standby database in sync with the primary")
    hit = response.results[0]
    assert hit.slug == slug
    assert hit.embedding_status == "stale"
    assert hit.matched_by == "both"  # the unchanged passages still carry their vectors


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_hybrid_falls_back_to_full_text_when_the_provider_is_down(
    shared: Library, closed_port: int
) -> None:
    down = create_provider(
        make_settings(None, embedding_provider="ollama", ollama_base_url=f"http://127.0.0.1:{closed_port}")
    )
    try:
        service = shared.service(down)
        response = await service.search(SearchRequest(query="pg_basebackup standby"))
        assert response.fallback
        assert response.notice and "provider" in response.notice
        assert response.searched == ["fulltext"]
        assert slugs_of(response)[0] == shared.slugs["Streaming replication in PostgreSQL"]
        with pytest.raises(UnavailableError, match="fulltext"):
            await service.search(SearchRequest(query="pg_basebackup standby", mode="semantic"))
    finally:
        await down.aclose()


async def test_with_semantic_search_disabled_hybrid_says_so(shared: Library) -> None:
    service = shared.service(semantic_search_enabled=False)
    response = await service.search(SearchRequest(query="sourdough starter"))
    assert response.fallback
    assert response.notice and "SEMANTIC_SEARCH_ENABLED" in response.notice
    assert slugs_of(response)[0] == shared.slugs["Sourdough bread from scratch"]
    assert response.results[0].embedding_status == "disabled"
    with pytest.raises(InvalidInputError) as error:
        await service.search(SearchRequest(query="sourdough starter", mode="semantic"))
    assert error.value.field == "mode"


async def test_multi_query_merges_phrasings_without_duplicates(shared: Library) -> None:
    response = await shared.search(
        "standby server following the primary",
        multi_query=["bread proofing in a cold room", "standby server following the primary"],
        k=5,
    )
    found = slugs_of(response)
    assert len(found) == len(set(found))
    assert shared.slugs["Streaming replication in PostgreSQL"] in found[:2]
    assert shared.slugs["Sourdough bread from scratch"] in found[:2]


class CountingProvider:
    """The real provider, with its calls counted."""

    def __init__(self, inner: EmbeddingProvider) -> None:
        self.inner = inner
        self.name, self.model, self.max_batch_size = inner.name, inner.model, inner.max_batch_size
        self.prefixes = inner.prefixes
        self.texts: list[str] = []

    async def embed(self, texts: Sequence[str], *, purpose: Purpose = "document") -> EmbeddingBatch:
        self.texts.extend(texts)
        return await self.inner.embed(texts, purpose=purpose)

    async def aclose(self) -> None:
        return None


async def test_a_repeated_query_does_not_call_the_provider_again(shared: Library) -> None:
    counting = CountingProvider(shared.provider)
    service = shared.service(counting)
    first = await service.search(SearchRequest(query="cast iron seasoning"))
    second = await service.search(SearchRequest(query="cast iron seasoning", mode="semantic"))
    assert counting.texts == ["cast iron seasoning"]
    assert slugs_of(first)[0] == slugs_of(second)[0] == shared.slugs["Caring for cast iron pans"]


async def test_diversity_passes_over_a_near_duplicate(library: Library) -> None:
    original = next(e for e in CORPUS if e["title"] == "Streaming replication in PostgreSQL")
    copy = await library.articles.create("Replicating PostgreSQL to a standby", original["content"])
    await library.embed([copy.embedding_task_id])
    query = "keep a standby database in sync with the primary by replaying the write-ahead log"
    plain = slugs_of(await library.search(query, mode="semantic", k=3))
    assert set(plain[:2]) == {copy.slug, library.slugs["Streaming replication in PostgreSQL"]}
    diverse = slugs_of(await library.search(query, mode="semantic", k=3, diversity=0.7))
    assert diverse[0] == plain[0]
    assert diverse[1] not in plain[:2]


async def test_min_score_drops_weaker_results(shared: Library) -> None:
    everything = await shared.search("growing tomatoes", mode="semantic", k=20)
    cut = everything.results[2].score
    kept = await shared.search("growing tomatoes", mode="semantic", k=20, min_score=cut)
    assert kept.results and all(hit.score >= cut for hit in kept.results)
    assert len(kept.results) < len(everything.results)
    assert (await shared.search("growing tomatoes", mode="semantic", min_score=0.99)).results == []


@pytest.mark.parametrize(
    ("request_args", "field"),
    [
        ({"query": "   "}, "query"),
        ({"query": "x", "folder": "../etc"}, "folder"),
        ({"query": "x", "multi_query": ["\x00"]}, "multi_query"),
        ({"query": "x", "tags": ["bad\ttag"]}, "tags"),
    ],
)
async def test_bad_input_names_the_field(shared: Library, request_args: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInputError) as error:
        await shared.service().search(SearchRequest(**request_args))
    assert error.value.field == field


async def test_only_vectors_of_the_active_model_take_part(library: Library) -> None:
    query = "quantum chromodynamics of gluons"
    [vector] = (await library.provider.embed([query])).vectors
    async with library.db.pool.acquire() as conn:
        other = await ensure_model(conn, CountingProvider(library.provider), "another-model")
        await record_dimensions(conn, other, len(vector))
        # The other model "says" the tomato article is exactly this query.
        await conn.execute(
            "INSERT INTO chunk_embeddings (model_id, text_hash, embedding)"
            " SELECT $1, c.text_hash, $2 FROM article_chunks AS c JOIN articles AS a ON a.id = c.article_id"
            " WHERE a.slug = $3",
            other.id,
            np.asarray(vector, dtype=np.float32),
            library.slugs["Growing tomatoes on a balcony"],
        )
    response = await library.search(query, mode="semantic")
    assert all(hit.semantic_score is not None and hit.semantic_score < 0.9 for hit in response.results)
    # A server configured for the other model still searches the active one: the database decides.
    other_service = SearchService(library.settings, library.db, library.provider, other)
    request = SearchRequest(query=query, mode="semantic")
    assert (await other_service.search(request)).model == library.model.name
    async with library.db.pool.acquire() as conn:
        await lifecycle.activate(conn, other, force=True, grace_hours=1)
    switched = await other_service.search(request)
    assert switched.model == "another-model"
    assert slugs_of(switched)[0] == library.slugs["Growing tomatoes on a balcony"]


async def test_after_a_switch_the_next_search_embeds_its_query_with_the_new_model(library: Library) -> None:
    query = "quantum chromodynamics of gluons"
    async with library.db.pool.acquire() as conn:
        other = await ensure_model(conn, CountingProvider(library.provider), "another-model")
        await record_dimensions(conn, other, len((await library.provider.embed([query])).vectors[0]))
    counting = CountingProvider(library.provider)
    service = SearchService(library.settings, library.db, counting, other)
    request = SearchRequest(query=query, mode="semantic")
    assert (await service.search(request)).model == library.model.name
    assert counting.texts == []  # the active model's own provider embedded the query
    async with library.db.pool.acquire() as conn:
        await lifecycle.activate(conn, other, force=True, grace_hours=1)
    # this search makes its vectors for the model the first one read, then finds another active
    assert (await service.search(request)).model == "another-model"
    assert counting.texts == [query]


async def test_a_paragraph_long_query_is_embedded_as_far_as_the_window_allows(shared: Library) -> None:
    # a pasted paragraph, far beyond the model's window: semantic search embeds its start and
    # says so; full text scores every word of it
    paragraph = "my sourdough dough is not rising because the kitchen is cold " + "and " * 1500
    hybrid = await shared.search(paragraph, mode="hybrid")
    assert not hybrid.fallback
    assert hybrid.notice and "window" in hybrid.notice
    assert slugs_of(hybrid)[0] == shared.slugs["Sourdough bread from scratch"]
    fulltext = await shared.search(paragraph, mode="fulltext")
    assert fulltext.notice is None
    short = await shared.search("my sourdough dough is not rising", mode="hybrid")
    assert short.notice is None


def summary(response: SearchResponse) -> list[tuple[object, ...]]:
    """What a response says, scores to 9 places (the two full texts sum in different orders)."""
    return [
        (hit.slug, round(hit.score, 9), hit.matched_by, [(p.chunk_index, p.matched_by) for p in hit.passages])
        for hit in response.results
    ]


@pytest.mark.parametrize(
    "request_args",
    [
        {"query": "replication standby primary", "mode": "fulltext"},
        {"query": "replication standby primary", "mode": "hybrid", "k": 8},
        {"query": "bread dough", "mode": "fulltext", "folder": "cooking"},
        {"query": "a job failed", "mode": "hybrid", "tags": ["runbook"]},
        {"query": "git commit", "multi_query": ["undo a mistake", "revert"], "passages": 3},
        {"query": "KX-4471-B scheduler", "mode": "fulltext", "k": 20},
    ],
)
async def test_the_memory_index_answers_as_sql_does(shared: Library, request_args: dict[str, Any]) -> None:
    in_memory = shared.service()
    assert in_memory.fulltext_index is not None
    await in_memory.fulltext_index.load()
    request = SearchRequest(**request_args)
    expected = await shared.service(fulltext_index="sql").search(request)
    assert expected.results
    assert summary(await in_memory.search(request)) == summary(expected)


async def test_the_memory_index_finds_each_write_as_it_commits(library: Library) -> None:
    service = library.service()
    assert service.fulltext_index is not None
    await service.fulltext_index.load()
    fulltext = SearchRequest(query="herds mara", mode="fulltext")
    assert await service.search(fulltext) == await library.service(fulltext_index="sql").search(fulltext)
    created = await library.articles.create("Zebra migration", "Herds of zebra cross the Mara river.")
    assert slugs_of(await service.search(fulltext)) == ["zebra-migration"]
    await library.articles.update(created.slug, content="Wildebeest cross the river in July.")
    assert slugs_of(await service.search(fulltext)) == []
    wildebeest = SearchRequest(query="wildebeest", mode="fulltext")
    assert slugs_of(await service.search(wildebeest)) == ["zebra-migration"]
    await library.articles.delete(created.slug)
    assert slugs_of(await service.search(wildebeest)) == []
