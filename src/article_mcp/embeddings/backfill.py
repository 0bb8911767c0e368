"""Backfill: queue the embedding of every article that lacks vectors of the active model.

What needs vectors is read from the chunks and embeddings tables (a current chunk with no
vector of the model), never from task history, which cleanup deletes. Articles marked no_rag
have no chunks and are never queued; articles with a pending or processing task are left to
it. The articles are queued in set-based batches through `enqueue` (merge semantics)
with source `backfill:<run id>`, each batch committed on its own: a backfill stopped half-way
is resumed by running it again. `rollback` cancels the pending tasks a backfill created.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from pydantic import Field

from article_mcp.config import Settings
from article_mcp.db.pool import Connection
from article_mcp.db.rows import Frozen, fetch_one
from article_mcp.db.sql import Queries
from article_mcp.errors import InvalidInputError
from article_mcp.queue.tasks import Priority, enqueue
from article_mcp.queue.usage import ModelTokens, model_tokens

QUERIES = Queries("article_mcp.embeddings", "backfill.sql")

SOURCE_PREFIX = "backfill:"
DEFAULT_BATCH_SIZE = 1000


class BackfillPlan(Frozen):
    """What a backfill of one model faces."""

    articles: int = Field(description="articles in all")
    no_rag: int = Field(description="articles marked no_rag: never embedded")
    missing: int = Field(description="articles with no vector at all and no live task: to queue")
    incomplete: int = Field(
        description="articles with some chunks lacking vectors and no live task: to queue"
    )
    chunks_to_embed: int = Field(description="chunks without a vector in the articles to queue")
    queued: int = Field(
        description="articles lacking vectors that a pending or processing task covers already"
    )

    @property
    def to_queue(self) -> int:
        """How many articles the backfill will queue."""
        return self.missing + self.incomplete


class BackfillResult(Frozen):
    """What a backfill queued."""

    run_id: str
    source: str = Field(description="the `source` of the tasks it created")
    articles: int = Field(description="articles queued")
    tasks: int = Field(description="tasks created or merged into")


class BackfillRun(Frozen):
    """A past backfill, as its tasks tell it."""

    run_id: str
    started_at: datetime
    tasks: int
    pending: int
    processing: int
    completed: int
    failed: int
    cancelled: int


class ModelCoverage(Frozen):
    """How much of the corpus has vectors of one model."""

    model_id: int
    provider: str
    name: str
    dimensions: int | None
    state: str
    query_prefix: str = Field(description="the instruction put before queries (part of the model's identity)")
    document_prefix: str = Field(description="the instruction put before passages")
    articles: int = Field(description="articles not marked no_rag")
    articles_embedded: int = Field(description="articles whose every current chunk has a vector")
    chunks: int
    chunks_embedded: int


def new_run_id() -> str:
    """A run id that sorts by time: UTC timestamp and a random suffix."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"


async def plan(conn: Connection, model_id: int) -> BackfillPlan:
    """Count what a backfill of `model_id` would queue, and what is covered already."""
    return BackfillPlan(**await fetch_one(conn, QUERIES["plan"], model_id))


async def articles_needing_vectors(conn: Connection, model_id: int) -> list[int]:
    """Ids of the articles a backfill of `model_id` queues, in order."""
    return [row["id"] for row in await conn.fetch(QUERIES["articles_needing_vectors"], model_id)]


async def enqueue_backfill(
    conn: Connection,
    model_id: int,
    article_ids: Sequence[int],
    *,
    priority: Priority,
    batch_size: int,
    max_attempts: int,
    run_id: str,
    progress: Callable[[int], None] = lambda _: None,
) -> BackfillResult:
    """Queue the articles in batches of `batch_size`, one statement and commit each."""
    source = SOURCE_PREFIX + run_id
    tasks = 0
    for start in range(0, len(article_ids), batch_size):
        batch = article_ids[start : start + batch_size]
        ids = await enqueue(
            conn, batch, model_id, priority=priority, source=source, max_attempts=max_attempts
        )
        tasks += len(ids)
        progress(len(batch))
    return BackfillResult(run_id=run_id, source=source, articles=len(article_ids), tasks=tasks)


async def rollback(conn: Connection, run_id: str | None) -> int:
    """Cancel the pending tasks of backfill `run_id` (of every backfill when None)."""
    if run_id is not None and not run_id.strip():
        raise InvalidInputError("--run", "must be a backfill run id (see `article-mcp embeddings status`)")
    source = None if run_id is None else SOURCE_PREFIX + run_id.removeprefix(SOURCE_PREFIX)
    cancelled: int = await conn.fetchval(QUERIES["cancel_backfill"], source)
    return cancelled


async def backfill_runs(conn: Connection, *, limit: int = 10) -> list[BackfillRun]:
    """The latest backfill runs, newest first."""
    return [BackfillRun(**row) for row in await conn.fetch(QUERIES["runs"], limit)]


async def coverage(conn: Connection) -> list[ModelCoverage]:
    """Articles and chunks with vectors, per model."""
    return [ModelCoverage(**row) for row in await conn.fetch(QUERIES["coverage"])]


class EmbeddingsStatus(Frozen):
    """Coverage per model, what the active model still lacks, and the latest backfills."""

    active_model: str = Field(description="provider/model the settings select")
    active_model_id: int | None = Field(description="None until the model is registered (first use)")
    models: list[ModelCoverage]
    plan: BackfillPlan | None = Field(description="what a backfill of the active model would queue")
    backfill_runs: list[BackfillRun]
    tokens: list[ModelTokens] = Field(
        description="tokens per model this hour, today and in 24 hours, and cost"
    )


async def embeddings_status(conn: Connection, settings: Settings) -> EmbeddingsStatus:
    """Read-only: the active model is looked up, never registered, here."""
    models = await coverage(conn)
    provider, name = settings.embedding_provider, settings.embedding_model_name
    prefixes = settings.instruction_prefixes()
    selected = (provider, name, prefixes.query.text, prefixes.document.text)
    active = next(
        (m.model_id for m in models if (m.provider, m.name, m.query_prefix, m.document_prefix) == selected),
        None,
    )
    return EmbeddingsStatus(
        active_model=f"{provider}/{name}",
        active_model_id=active,
        models=models,
        plan=None if active is None else await plan(conn, active),
        backfill_runs=await backfill_runs(conn),
        tokens=await model_tokens(conn),
    )
