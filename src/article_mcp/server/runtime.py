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
from article_mcp.embeddings.registry import ModelRecord, active_model
from article_mcp.search.service import SearchService
from article_mcp.server.app import Services
from article_mcp.worker.runs import embed_now
from article_mcp.worker.serving import Embedding, Embeddings, open_embeddings


@dataclass(frozen=True, slots=True)
class Runtime:
    """Everything a serving process holds open."""

    settings: Settings
    db: Database
    # None when SEMANTIC_SEARCH_ENABLED=false
    embeddings: Embeddings | None
    services: Services

    @property
    def embedding(self) -> Embedding | None:
        """The configured model's provider and record."""
        return None if self.embeddings is None else self.embeddings.configured

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
    """Open the database (migrated), the providers of the models writes embed for (the
    configured one registered, as building while another is active), and build the services."""
    async with open_database(settings, migrate=migrate) as db:
        if not settings.semantic_search_enabled:
            yield Runtime(settings, db, None, _services(settings, db, None, None))
            return
        async with open_embeddings(settings, db) as embeddings:
            async with pooled_connection(db) as conn:
                active = await active_model(conn)
            services = _services(settings, db, embeddings, active)
            try:
                yield Runtime(settings, db, embeddings, services)
            finally:
                await services.search.aclose()


def _services(
    settings: Settings, db: Database, embeddings: Embeddings | None, active: ModelRecord | None
) -> Services:
    if embeddings is None:
        articles = ArticleService(settings, db, None)
        return Services(settings, db, articles, SearchService(settings, db, None, None))
    # Writes report their embedding status for the active model, and embed for every live one.
    embedding = next((e for e in embeddings.all if active is not None and e.model.id == active.id), None)
    model_id = active.id if active is not None else embeddings.configured.model.id
    articles = ArticleService(settings, db, model_id, after_write=_after_write(settings, db, embedding))
    search = SearchService(settings, db, embeddings.configured.provider, embeddings.configured.model)
    return Services(settings, db, articles, search)


def _after_write(settings: Settings, db: Database, embedding: Embedding | None) -> AfterWrite | None:
    """With EMBEDDING_QUEUE_ENABLED=false, each write embeds its task for the active model right
    after its commit (those of a building model wait for workers)."""
    if settings.embedding_queue_enabled or embedding is None:
        return None

    async def embed_after_commit(task_ids: Sequence[int]) -> None:
        await embed_now(settings, db, embedding.provider, embedding.model, task_ids)

    return embed_after_commit
