"""The models a serving or worker process embeds for, each with its provider.

Writes embed for every live model (the active one, those building, those retired within
their grace), so a process runs a worker pool for each: the configured model with the
provider the settings build, and every other live model with a provider rebuilt from its
registry row (`registry.settings_for`: provider, model and base URL from the row; the API key
and everything else from the settings, since no row keeps a key). A model whose provider
cannot be built here (no API key for its provider) is logged and left to other processes.
Models registered after the process started are served from its next start.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace

import anyio
import structlog
from anyio.abc import TaskStatus

from article_mcp.config import Settings
from article_mcp.db.pool import Database, pooled_connection
from article_mcp.embeddings.providers import create_provider
from article_mcp.embeddings.providers.base import EmbeddingProvider
from article_mcp.embeddings.registry import (
    HnswOptions,
    ModelRecord,
    configured_model,
    live_models,
    settings_for,
)
from article_mcp.embeddings.shared_limit import shared_limiter
from article_mcp.errors import ConfigError, describe
from article_mcp.queue.tasks import EVERYTHING, Partition
from article_mcp.worker.runs import SHUTDOWN_GRACE_SECONDS, run_pool

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Embedding:
    """A model and the provider that embeds for it."""

    provider: EmbeddingProvider
    model: ModelRecord


@dataclass(frozen=True, slots=True)
class Embeddings:
    """The configured model's embedding, and those of the other live models."""

    configured: Embedding
    others: tuple[Embedding, ...]

    @property
    def all(self) -> tuple[Embedding, ...]:
        """Every model this process embeds for, the configured one first."""
        return (self.configured, *self.others)


@asynccontextmanager
async def open_embeddings(settings: Settings, db: Database) -> AsyncIterator[Embeddings]:
    """Register the configured model (building while another is active) and open a provider for
    it and for each other live model; closes them all at exit."""
    hnsw = HnswOptions.from_settings(settings)
    async with AsyncExitStack() as stack:
        provider = create_provider(settings, limiter=shared_limiter(settings, db))
        stack.push_async_callback(provider.aclose)
        async with pooled_connection(db) as conn:
            model = await configured_model(conn, provider, settings)
            live = await live_models(conn)
        if model.state != "active":
            log.info("model_not_active", model=str(model.identity), state=model.state)
        others = []
        for other in (m for m in live if m.id != model.id):
            try:
                rebuilt = settings_for(settings, other)
                other_provider = create_provider(rebuilt, limiter=shared_limiter(rebuilt, db))
            except ConfigError as exc:
                log.warning("model_not_served", model=str(other.identity), error=describe(exc))
                continue
            stack.push_async_callback(other_provider.aclose)
            others.append(Embedding(other_provider, replace(other, hnsw=hnsw)))
        yield Embeddings(Embedding(provider, model), tuple(others))


async def run_pools(
    settings: Settings,
    db: Database,
    embeddings: Embeddings,
    *,
    shutdown: anyio.Event | None = None,
    grace: float = SHUTDOWN_GRACE_SECONDS,
    partition: Partition = EVERYTHING,
    task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """A worker pool per model, each taking the tasks of `partition`, until cancelled (or
    `shutdown` is set); started once all are."""
    async with anyio.create_task_group() as pools:
        for embedding in embeddings.all:
            await pools.start(_run_one, settings, db, embedding, shutdown, grace, partition)
        task_status.started()


async def _run_one(
    settings: Settings,
    db: Database,
    embedding: Embedding,
    shutdown: anyio.Event | None,
    grace: float,
    partition: Partition,
    *,
    task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    await run_pool(
        settings,
        db,
        embedding.provider,
        embedding.model,
        shutdown=shutdown,
        grace=grace,
        partition=partition,
        task_status=task_status,
    )
