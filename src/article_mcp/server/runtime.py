"""Wiring for a serving process: settings -> database -> provider -> model -> services.

`open_runtime` is the one place that builds them, for `article-mcp serve` and for tests that
drive the real server in-process. The article service gets a model id, never the provider:
only the worker pool (and, with the queue disabled, the post-commit hook) embeds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from article_mcp.articles.service import AfterWrite, ArticleService
from article_mcp.config import Settings
from article_mcp.db.pool import CONNECTION_ERRORS, Database, open_database, pooled_connection
from article_mcp.embeddings.providers import create_provider
from article_mcp.embeddings.providers.base import EmbeddingProvider
from article_mcp.embeddings.registry import ModelRecord, configured_model
from article_mcp.embeddings.shared_limit import shared_limiter
from article_mcp.search.service import SearchService
from article_mcp.server.app import Services
from article_mcp.worker.runs import embed_now


@dataclass(frozen=True, slots=True)
class Embedding:
    """The provider and the model record of the active model."""

    provider: EmbeddingProvider
    model: ModelRecord


@dataclass(frozen=True, slots=True)
class Runtime:
    """Everything a serving process holds open."""

    settings: Settings
    db: Database
    embedding: Embedding | None  # None when SEMANTIC_SEARCH_ENABLED=false
    services: Services

    async def database_ok(self) -> bool:
        """True when the database answers (the /health check)."""
        try:
            async with self.db.pool.acquire() as conn:
                await conn.fetchval("SELECT 1")
        except CONNECTION_ERRORS:
            return False
        return True


@asynccontextmanager
async def open_runtime(settings: Settings, *, migrate: bool = True) -> AsyncIterator[Runtime]:
    """Open the database (migrated), the provider and the active model, and build the services."""
    async with open_database(settings, migrate=migrate) as db:
        if not settings.semantic_search_enabled:
            yield Runtime(settings, db, None, _services(settings, db, None))
            return
        provider = create_provider(settings, limiter=shared_limiter(settings, db))
        try:
            async with pooled_connection(db) as conn:
                model = await configured_model(conn, provider, settings)
            embedding = Embedding(provider, model)
            yield Runtime(settings, db, embedding, _services(settings, db, embedding))
        finally:
            await provider.aclose()


def _services(settings: Settings, db: Database, embedding: Embedding | None) -> Services:
    if embedding is None:
        articles = ArticleService(settings, db, None)
        return Services(settings, db, articles, SearchService(settings, db, None, None))
    articles = ArticleService(
        settings, db, embedding.model.id, after_write=_after_write(settings, db, embedding)
    )
    search = SearchService(settings, db, embedding.provider, embedding.model)
    return Services(settings, db, articles, search)


def _after_write(settings: Settings, db: Database, embedding: Embedding) -> AfterWrite | None:
    """With EMBEDDING_QUEUE_ENABLED=false, each write embeds its tasks right after its commit."""
    if settings.embedding_queue_enabled:
        return None

    async def embed_after_commit(task_ids: Sequence[int]) -> None:
        await embed_now(settings, db, embedding.provider, embedding.model, task_ids)

    return embed_after_commit
