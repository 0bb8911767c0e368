"""The two ways a worker pool runs: `run_pool`, the long-lived workers of `serve` and `worker`,
and `embed_now`, one write's tasks embedded at once when the queue is disabled."""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import structlog
from anyio.abc import TaskStatus

from article_mcp.config import Settings
from article_mcp.db.listener import listen
from article_mcp.db.pool import Database
from article_mcp.embeddings.providers.base import EmbeddingProvider
from article_mcp.embeddings.registry import ModelRecord
from article_mcp.errors import describe
from article_mcp.queue.tasks import EVERYTHING, NOTIFY_CHANNEL, Partition, claim
from article_mcp.worker.activation import auto_activate_loop
from article_mcp.worker.budget import Clock, utc_now
from article_mcp.worker.pool import MAX_HEARTBEAT_SECONDS, WorkerPool

log = structlog.get_logger(__name__)

# How long a shutting-down worker may take to finish its batch before it is released.
SHUTDOWN_GRACE_SECONDS = 30.0


async def run_pool(
    settings: Settings,
    db: Database,
    provider: EmbeddingProvider,
    model: ModelRecord,
    *,
    shutdown: anyio.Event | None = None,
    grace: float = SHUTDOWN_GRACE_SECONDS,
    clock: Clock = utc_now,
    partition: Partition = EVERYTHING,
    task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Run EMBEDDING_CONCURRENT_WORKERS workers, taking the tasks of `partition`, until
    cancelled (or `shutdown` is set); `clock` says which UTC day the token budget counts.

    Started with `task_group.start(run_pool, ...)`, it reports started once every worker is
    registered. Returns at once when there are no workers to run.
    """
    if settings.embedding_concurrent_workers == 0 or not settings.semantic_search_enabled:
        task_status.started()
        return
    count = settings.embedding_concurrent_workers
    pool = WorkerPool.create(settings, db, provider, model, workers=count, clock=clock, partition=partition)
    started = "worker started" if partition.everything else f"worker started, taking {partition}"
    try:
        async with anyio.create_task_group() as background:
            await pool.register()
            for slot in pool.book.slots:
                pool.book.event("info", "worker_started", started, slot.worker_id)
            if db.listen_dsn is not None:
                background.start_soon(_listen_for_tasks, db.listen_dsn, pool)
            else:
                log.info(
                    "workers_polling",
                    interval_ms=settings.embedding_worker_interval,
                    reason="DATABASE_POOL_MODE=transaction without DATABASE_DIRECT_URL: no LISTEN",
                )
            background.start_soon(pool.heartbeat_loop)
            background.start_soon(pool.cleanup_loop)
            background.start_soon(pool.probe_loop)
            if settings.embedding_auto_activate and model.state == "building":
                background.start_soon(auto_activate_loop, settings, db, model, pool.heartbeat_seconds)
            task_status.started()
            async with anyio.create_task_group() as workers:
                for slot in pool.book.slots:
                    workers.start_soon(pool.work, slot)
                if shutdown is not None:
                    workers.start_soon(pool.stop_on, shutdown, workers.cancel_scope, grace)
            background.cancel_scope.cancel()
    finally:
        await pool.finish()


async def _listen_for_tasks(dsn: str, pool: WorkerPool) -> None:
    """Wake the workers on every notification, and after each (re)connection, since what was
    notified meanwhile was lost."""
    check = min(pool.poll_seconds, MAX_HEARTBEAT_SECONDS)
    await listen(dsn, NOTIFY_CHANNEL, lambda _: pool.wake(), on_connect=pool.wake, check_seconds=check)


async def embed_now(
    settings: Settings,
    db: Database,
    provider: EmbeddingProvider,
    model: ModelRecord,
    task_ids: Sequence[int],
) -> None:
    """Embed just-enqueued tasks right away (EMBEDDING_QUEUE_ENABLED=false), as a worker would.

    Never raises for the provider or the database: the write is already committed, and a task
    that could not run stays queued (retried by a worker, or by `embeddings backfill`), as it
    does while the day's token budget is spent.
    """
    pool = WorkerPool.create(settings, db, provider, model, workers=1)
    [slot] = pool.book.slots
    slot.worker_id = f"sync:{pool.book.hostname}:{pool.book.pid}"
    try:
        async with db.pool.acquire() as conn:
            await pool.budget.learn(conn, pool.book.buffered_tokens)
            if pool.budget.resets_at() is not None:
                log.info("token_budget_spent", tasks=list(task_ids), resets_at=pool.budget.resets_at())
                return
            tasks = await claim(
                conn,
                slot.worker_id,
                model.id,
                limit=max(len(task_ids), 1),
                lease_ms=pool.lease_ms,
                task_ids=task_ids,
            )
        if tasks:
            await pool.run_claimed(slot, tasks)
        slot.state = "idle"
        async with db.pool.acquire() as conn:
            await pool.book.beat(conn, pool.lease_ms)
    except Exception as exc:
        log.warning("embed_now_failed", error=describe(exc), tasks=list(task_ids))
