"""Read-only reports on the embedding queue: breakdowns and 24 h activity, processing
metrics, recent tasks, failures grouped by error, one task with its audit log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from article_mcp.db.pool import Connection
from article_mcp.db.rows import Frozen, fetch_one
from article_mcp.db.sql import Queries
from article_mcp.queue.admin import FailedTask, TaskCounts, counts_by, recent_failures, task_counts, task_row
from article_mcp.queue.usage import ModelTokens, model_tokens

QUERIES = Queries("article_mcp.queue", "reports.sql")


class HourActivity(Frozen):
    """Tasks created and finished in one hour."""

    hour: datetime
    created: int
    completed: int
    failed: int
    tokens: int


class QueueStats(Frozen):
    """Task breakdowns and the last 24 hours, hour by hour."""

    by_priority: dict[str, TaskCounts]
    by_source: dict[str, TaskCounts] = Field(description="write, backfill, retry, ...")
    by_model: dict[str, TaskCounts] = Field(description="provider/model")
    failed_by_kind: dict[str, int] = Field(description="transient, rate_limited, permanent, ...")
    hourly: list[HourActivity] = Field(description="the last 24 hours, oldest first")


async def queue_stats(conn: Connection) -> QueueStats:
    """Breakdowns by priority, source, model and error kind, and 24 h of activity."""
    return QueueStats(
        by_priority=counts_by(await task_counts(conn), "priority"),
        by_source=counts_by(await conn.fetch(QUERIES["tasks_by_source"]), "source"),
        by_model=counts_by(await conn.fetch(QUERIES["tasks_by_model"]), "model"),
        failed_by_kind={
            row["error_kind"]: row["tasks"] for row in await conn.fetch(QUERIES["failures_by_kind"])
        },
        hourly=[HourActivity(**row) for row in await conn.fetch(QUERIES["hourly_activity"])],
    )


class QueueMetrics(Frozen):
    """How the workers performed over a window of hours (times in seconds or milliseconds)."""

    window_hours: int
    completed: int
    failed: int
    error_rate: float | None = Field(description="failed / (completed + failed); None when nothing finished")
    throughput_per_minute: float = Field(description="tasks completed per minute over the window")
    tokens: int = Field(description="tokens charged to the tasks finished")
    tokens_by_model: list[ModelTokens] = Field(
        description="tokens per model this hour, today and in the last 24 hours, with their cost"
    )
    processing_seconds_p50: float | None = Field(description="claim to completion, median")
    processing_seconds_p95: float | None
    latency_seconds_p50: float | None = Field(description="created to completion, median")
    latency_seconds_p95: float | None
    batches: int = Field(description="provider batches the workers ran (performance_metrics)")
    chunks: int
    embedded: int = Field(description="chunks sent to the provider (the rest were embedded already)")
    batch_failures: int
    batch_ms_p50: float | None
    batch_ms_p95: float | None
    embed_ms_p50: float | None
    embed_ms_p95: float | None
    write_ms_p50: float | None
    write_ms_p95: float | None


async def queue_metrics(conn: Connection, *, hours: int) -> QueueMetrics:
    """Processing time percentiles, throughput, error rate and tokens over the last `hours`."""
    tasks = await fetch_one(conn, QUERIES["task_metrics"], hours)
    batches = await fetch_one(conn, QUERIES["batch_metrics"], hours)
    finished = tasks["completed"] + tasks["failed"]
    return QueueMetrics(
        window_hours=hours,
        completed=tasks["completed"],
        failed=tasks["failed"],
        error_rate=tasks["failed"] / finished if finished else None,
        throughput_per_minute=tasks["completed"] / (hours * 60),
        tokens=tasks["tokens"],
        tokens_by_model=await model_tokens(conn),
        processing_seconds_p50=tasks["processing_p50"],
        processing_seconds_p95=tasks["processing_p95"],
        latency_seconds_p50=tasks["latency_p50"],
        latency_seconds_p95=tasks["latency_p95"],
        batches=batches["batches"],
        chunks=batches["chunks"],
        embedded=batches["embedded"],
        batch_failures=batches["failures"],
        **{key: value for key, value in batches.items() if key.endswith(("_p50", "_p95"))},
    )


class TaskSummary(Frozen):
    """One line about a task."""

    task_id: int
    article_id: int | None
    slug: str | None
    status: str
    priority: str
    attempts: int
    max_attempts: int
    source: str
    created_at: datetime
    updated_at: datetime
    error_message: str | None


async def recent_tasks(conn: Connection, *, limit: int) -> list[TaskSummary]:
    """The tasks changed most recently, newest first."""
    return [TaskSummary(**row) for row in await conn.fetch(QUERIES["recent_tasks"], limit)]


class FailureGroup(Frozen):
    """Failed tasks sharing one error."""

    error_kind: str
    error_message: str
    tasks: int
    first_at: datetime
    last_at: datetime
    task_ids: list[int] = Field(description="up to five of them, newest first")


class FailureReport(Frozen):
    """Failed tasks grouped by error, and each of them when details are asked for."""

    groups: list[FailureGroup]
    tasks: list[FailedTask]


async def failed_tasks(conn: Connection, *, details: int = 0) -> FailureReport:
    """Failures grouped by error, most frequent first; with `details`, that many tasks too."""
    groups = [FailureGroup(**row) for row in await conn.fetch(QUERIES["failure_groups"])]
    tasks = await recent_failures(conn, details)
    return FailureReport(groups=groups, tasks=tasks)


class AuditEntry(Frozen):
    """One line of the audit log."""

    timestamp: datetime
    level: str
    category: str
    event: str
    message: str
    worker_id: str | None
    metadata: dict[str, Any]


class TaskDetail(Frozen):
    """Everything known about one task, with its audit log."""

    task_id: int
    article_id: int | None
    slug: str | None
    title: str | None
    current_version: int | None = Field(description="the article's version now")
    model: str
    article_version: int = Field(description="the article version the task is for")
    operation: str
    priority: str
    status: str
    attempts: int
    max_attempts: int
    scheduled_at: datetime
    lease_owner: str | None
    lease_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    error_kind: str | None
    error_message: str | None
    tokens_used: int
    source: str
    metadata: dict[str, Any]
    audit: list[AuditEntry]


async def inspect_task(conn: Connection, task_id: int) -> TaskDetail:
    """One task and its audit log, oldest entry first."""
    row = await task_row(conn, task_id)
    audit = [AuditEntry(**entry) for entry in await conn.fetch(QUERIES["task_audit"], task_id)]
    return TaskDetail(**row, audit=audit)
