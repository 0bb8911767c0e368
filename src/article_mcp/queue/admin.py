"""The embedding queue as an operator sees it: its status and health, and the actions that
repair it (pause, resume, retry, reset stuck tasks, clear).

Every action changes the queue in one SQL statement (`queue_admin.sql`, or the queue's own
`settle` for stuck tasks), so it is atomic and safe beside running workers. The status report
also backs the MCP `queue_status` tool.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

import asyncpg
from pydantic import Field

from article_mcp.config import Settings
from article_mcp.db.pool import Connection
from article_mcp.db.rows import Frozen, fetch_one
from article_mcp.db.sql import Queries
from article_mcp.errors import ConflictError, NotFoundError
from article_mcp.queue import tasks
from article_mcp.queue.usage import TokenReport, token_report

QUERIES = Queries("article_mcp.queue", "admin.sql")

TaskStatus = Literal["pending", "processing", "completed", "failed", "cancelled"]
QueueState = Literal["running", "paused", "stopped", "synchronous", "disabled"]

RECENT_FAILURES = 5
# Top-level folders shown with their pending tasks in the status.
TOP_FOLDERS = 10


class TaskCounts(Frozen):
    """Tasks in each status."""

    pending: int = 0
    processing: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0


class PriorityCounts(Frozen):
    """Pending tasks at each priority."""

    high: int = 0
    normal: int = 0
    low: int = 0


class FolderCount(Frozen):
    """Pending tasks of the articles in one top-level folder and below it."""

    folder: str = Field(description="a top-level folder; '' is the root")
    tasks: int


class WorkerInfo(Frozen):
    """One worker process as it last reported itself."""

    worker_id: str
    hostname: str
    pid: int
    state: str = Field(description="starting, idle, busy, paused, stopping or stopped")
    alive: bool = Field(description="not stopped and heartbeat within the lease time")
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None
    tasks_completed: int
    tasks_failed: int
    last_error: str | None
    provider_unreachable_since: datetime | None = Field(
        description="since when this worker's process cannot reach the provider (its circuit is open)"
    )
    provider_error: str | None = Field(description="what the provider's last failure was, while unreachable")


class FailedTask(Frozen):
    """A task that failed for good."""

    task_id: int
    article_id: int | None
    slug: str | None
    error_kind: str | None
    error_message: str | None
    attempts: int
    max_attempts: int
    failed_at: datetime


class QueueStatus(Frozen):
    """The state of the embedding queue at a glance."""

    state: QueueState = Field(
        description="running (a worker is alive), paused (by `queue stop`), stopped (no live worker), "
        "synchronous (EMBEDDING_QUEUE_ENABLED=false) or disabled (SEMANTIC_SEARCH_ENABLED=false)"
    )
    paused: bool
    pause_reason: str | None
    paused_since: datetime | None
    counts: TaskCounts = Field(description="tasks in each status")
    pending_by_priority: PriorityCounts
    pending_by_folder: list[FolderCount] = Field(
        description=f"pending tasks by top-level folder, the {TOP_FOLDERS} largest (workers take a "
        "partition with `article-mcp worker --priority` and `--folder`)"
    )
    oldest_pending_seconds: float | None = Field(description="how long the oldest pending task has waited")
    expired_leases: int = Field(description="processing tasks whose worker stopped renewing the lease")
    workers_alive: int
    workers: list[WorkerInfo] = Field(description="workers seen in the last hour, live ones first")
    provider_unreachable_since: datetime | None = Field(
        description="since when a live worker has found the provider unreachable (None: it answers)"
    )
    provider_error: str | None = Field(description="the provider's failure that live worker saw")
    completed_last_hour: int
    failed_last_hour: int
    recent_failures: list[FailedTask]
    tokens: TokenReport = Field(description="tokens per model with their cost, and the daily budget")


async def queue_status(conn: Connection, settings: Settings) -> QueueStatus:
    """Worker state, task counts, backlog age, workers and recent failures."""
    control = await fetch_one(conn, QUERIES["control"])
    counts, by_priority = _count_tasks(await task_counts(conn))
    by_folder = [FolderCount(**row) for row in await conn.fetch(QUERIES["pending_by_folder"], TOP_FOLDERS)]
    timing = await fetch_one(conn, QUERIES["queue_timing"])
    workers = [WorkerInfo(**row) for row in await conn.fetch(QUERIES["workers"], settings.embedding_lease_ms)]
    failures = await recent_failures(conn, RECENT_FAILURES)
    alive = sum(worker.alive for worker in workers)
    down = [w for w in workers if w.alive and w.provider_unreachable_since is not None]
    first_down = min(down, key=lambda w: w.provider_unreachable_since or w.heartbeat_at, default=None)
    return QueueStatus(
        state=_queue_state(settings, paused=control["paused"], workers_alive=alive),
        paused=control["paused"],
        pause_reason=control["reason"],
        paused_since=control["updated_at"] if control["paused"] else None,
        counts=counts,
        pending_by_priority=by_priority,
        pending_by_folder=by_folder,
        workers_alive=alive,
        workers=workers,
        provider_unreachable_since=first_down.provider_unreachable_since if first_down else None,
        provider_error=first_down.provider_error if first_down else None,
        recent_failures=failures,
        tokens=await token_report(conn, settings),
        **timing,
    )


async def task_counts(conn: Connection) -> list[asyncpg.Record]:
    """Rows of (priority, status, tasks) over the whole queue."""
    return await conn.fetch(QUERIES["task_counts"])


async def recent_failures(conn: Connection, limit: int) -> list[FailedTask]:
    """The latest failed tasks, newest first."""
    return [FailedTask(**row) for row in await conn.fetch(QUERIES["recent_failures"], limit)]


async def task_row(conn: Connection, task_id: int) -> asyncpg.Record:
    """One task with its article's slug; NotFoundError when there is none."""
    row = await conn.fetchrow(QUERIES["task"], task_id)
    if row is None:
        raise NotFoundError(f"task {task_id} does not exist")
    return row


def counts_by(rows: Sequence[asyncpg.Record], key: str) -> dict[str, TaskCounts]:
    """Fold rows of (key, status, tasks) into task counts per key."""
    folded: dict[str, dict[str, int]] = {}
    for row in rows:
        counts = folded.setdefault(row[key], {})
        counts[row["status"]] = counts.get(row["status"], 0) + row["tasks"]
    return {name: TaskCounts(**counts) for name, counts in folded.items()}


def _count_tasks(rows: Sequence[asyncpg.Record]) -> tuple[TaskCounts, PriorityCounts]:
    by_priority = counts_by(rows, "priority")
    total = {
        status: sum(getattr(c, status) for c in by_priority.values()) for status in TaskCounts.model_fields
    }
    pending = {priority: counts.pending for priority, counts in by_priority.items()}
    return TaskCounts(**total), PriorityCounts(**pending)


def _queue_state(settings: Settings, *, paused: bool, workers_alive: int) -> QueueState:
    if not settings.semantic_search_enabled:
        return "disabled"
    if not settings.embedding_queue_enabled:
        return "synchronous"
    if paused:
        return "paused"
    return "running" if workers_alive else "stopped"


class StuckTask(Frozen):
    """A processing task whose lease expired or that has run too long."""

    task_id: int
    article_id: int | None
    slug: str | None
    lease_owner: str
    lease_expires_at: datetime
    lease_expired: bool
    started_at: datetime
    running_seconds: float
    attempts: int
    max_attempts: int


async def stuck_tasks(conn: Connection, *, older_than_minutes: int) -> list[StuckTask]:
    """Processing tasks with an expired lease or started more than `older_than_minutes` ago."""
    return [StuckTask(**row) for row in await conn.fetch(QUERIES["stuck_tasks"], older_than_minutes)]


# Actions. Each changes the queue in one statement and wakes the workers when it requeued
# something; the `queue` CLI confirms the destructive ones first.


class ResetResult(Frozen):
    """What `reset-stuck` did with each stuck task."""

    requeued: int = Field(description="put back to pending")
    merged: int = Field(description="merged into their article's pending task")
    failed: int = Field(description="lease expired with every attempt spent: failed (see `queue retry`)")
    cancelled: int = Field(description="of deleted articles: cancelled")


class RetryResult(Frozen):
    """What `retry` did."""

    pending_ids: list[int] = Field(description="the pending tasks that now carry the retried work")
    merged: int = Field(description="retried tasks merged into another pending task of their article")


class ControlState(Frozen):
    """The pause switch of every worker."""

    paused: bool
    reason: str | None
    updated_at: datetime


async def reset_stuck(conn: Connection, *, older_than_minutes: int) -> ResetResult:
    """Take stuck tasks out of processing the way the queue does (`tasks.settle`).

    A task whose lease expired is settled as the reaper of a live worker would: retried, or
    failed once its attempts are spent. A task still leased but running too long is released:
    back to pending without spending an attempt. Either merges into its article's pending task.
    """
    stuck = await stuck_tasks(conn, older_than_minutes=older_than_minutes)
    expired = [tasks.LeasedTask(t.task_id, t.lease_owner) for t in stuck if t.lease_expired]
    overdue = [tasks.LeasedTask(t.task_id, t.lease_owner) for t in stuck if not t.lease_expired]
    message = "reset by an operator (queue reset-stuck)"
    outcomes = await tasks.settle(conn, expired, "expired", message=message)
    outcomes |= await tasks.settle(conn, overdue, "released", message=message)
    counts = Counter(outcomes.values())
    if counts["retry"]:
        await tasks.notify_workers(conn)
    return ResetResult(
        requeued=counts["retry"],
        merged=counts["merged"],
        failed=counts["failed"],
        cancelled=counts["cancelled"],
    )


async def retry_task(conn: Connection, task_id: int) -> RetryResult:
    """Requeue one failed or cancelled task, whatever its attempts."""
    task = await task_row(conn, task_id)
    if task["status"] not in ("failed", "cancelled"):
        raise ConflictError(f"task {task_id} is {task['status']}: only failed or cancelled tasks are retried")
    if task["slug"] is None:
        raise ConflictError(f"task {task_id} belongs to a deleted article: nothing to embed")
    result = await _retry(conn, [task_id], every_failed=False)
    if not result.pending_ids:
        raise ConflictError(
            f"task {task_id} was not requeued: its article is marked no_rag or it just changed"
        )
    return result


async def retry_failed(conn: Connection) -> RetryResult:
    """Requeue every failed task whose article still exists and is embedded."""
    return await _retry(conn, [], every_failed=True)


async def _retry(conn: Connection, task_ids: list[int], *, every_failed: bool) -> RetryResult:
    row = await fetch_one(conn, QUERIES["retry_tasks"], task_ids, every_failed)
    if row["pending_ids"]:
        await tasks.notify_workers(conn)
    return RetryResult(pending_ids=row["pending_ids"] or [], merged=row["merged"])


async def set_paused(conn: Connection, *, paused: bool, reason: str | None) -> ControlState:
    """Pause or resume every worker (they read the switch before each claim)."""
    row = await fetch_one(conn, QUERIES["set_paused"], paused, reason)
    if not paused:
        await tasks.notify_workers(conn)
    return ControlState(**row)


async def clear_pending(conn: Connection) -> int:
    """Cancel every pending task; return how many."""
    cancelled: int = await conn.fetchval(QUERIES["cancel_pending"])
    return cancelled
