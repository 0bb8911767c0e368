"""Each model's state, coverage, time to completion and failures: for `embeddings status` and
the MCP `queue_status` tool."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from article_mcp.config import Settings
from article_mcp.db.pool import Connection
from article_mcp.db.rows import Frozen
from article_mcp.embeddings.backfill import (
    BackfillPlan,
    BackfillRun,
    ModelCoverage,
    backfill_runs,
    coverage,
    plan,
)
from article_mcp.embeddings.costs import eta_seconds
from article_mcp.embeddings.lifecycle import QUERIES
from article_mcp.embeddings.registry import ModelIdentity
from article_mcp.queue.admin import QueueStatus, queue_status
from article_mcp.queue.usage import ModelTokens, model_tokens


class ModelStatus(ModelCoverage):
    """One model: its state, how much it covers, and what it still has to do."""

    configured: bool = Field(description="the model the settings name (EMBEDDING_PROVIDER, EMBEDDING_MODEL)")
    activated_at: datetime | None
    retired_at: datetime | None
    keep_warm_until: datetime | None = Field(
        description="a retired model: until then writes still embed for it (rollback) and prune waits"
    )
    queued: int = Field(description="tasks pending or processing")
    failed_last_day: int
    failure_reason: str | None = Field(description="the most frequent reason of the last day's failures")
    eta_seconds: float | None = Field(
        description="estimated seconds until it covers every article, at the measured throughput"
    )


class QueueAndModels(QueueStatus):
    """The queue at a glance, and every embedding model's state and coverage."""

    models: list[ModelStatus]


async def model_statuses(conn: Connection, settings: Settings) -> list[ModelStatus]:
    """Every registered model, in id order."""
    progress = {row["model_id"]: row for row in await conn.fetch(QUERIES["progress"])}
    configured = ModelIdentity.configured(settings)
    statuses = []
    for model in await coverage(conn):
        row = progress[model.model_id]
        lacking = model.articles_embedded < model.articles
        statuses.append(
            ModelStatus(
                **model.model_dump(),
                configured=ModelIdentity(
                    model.provider, model.name, model.query_prefix, model.document_prefix
                )
                == configured,
                activated_at=row["activated_at"],
                retired_at=row["retired_at"],
                keep_warm_until=row["keep_warm_until"],
                queued=row["queued"],
                failed_last_day=row["failed"],
                failure_reason=row["failure_reason"],
                eta_seconds=await eta_seconds(conn, settings, model.model_id)
                if lacking and row["queued"]
                else None,
            )
        )
    return statuses


async def queue_and_models(conn: Connection, settings: Settings) -> QueueAndModels:
    """`queue_status` with each model's state and coverage."""
    queue = await queue_status(conn, settings)
    return QueueAndModels(**queue.model_dump(), models=await model_statuses(conn, settings))


class EmbeddingsStatus(Frozen):
    """Every model's state and coverage, what the active model still lacks, the latest backfills."""

    active_model: str | None = Field(description="provider/model search uses (None: none registered yet)")
    active_model_id: int | None
    configured_model: str = Field(description="provider/model the settings name")
    models: list[ModelStatus]
    plan: BackfillPlan | None = Field(description="what a backfill of the active model would queue")
    backfill_runs: list[BackfillRun]
    tokens: list[ModelTokens] = Field(
        description="tokens per model this hour, today and in 24 hours, and cost"
    )


async def embeddings_status(conn: Connection, settings: Settings) -> EmbeddingsStatus:
    """Read-only: nothing is registered here."""
    models = await model_statuses(conn, settings)
    active = next((m for m in models if m.state == "active"), None)
    return EmbeddingsStatus(
        active_model=None if active is None else f"{active.provider}/{active.name}",
        active_model_id=None if active is None else active.model_id,
        configured_model=str(ModelIdentity.configured(settings)),
        models=models,
        plan=None if active is None else await plan(conn, active.model_id),
        backfill_runs=await backfill_runs(conn),
        tokens=await model_tokens(conn),
    )
