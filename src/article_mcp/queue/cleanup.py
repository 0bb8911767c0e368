"""Retention: what the queue no longer needs is removed on EMBEDDING_CLEANUP_INTERVAL.

Completed and cancelled tasks, audit rows, performance rows and stopped workers older than
EMBEDDING_CLEANUP_RETENTION_DAYS go; failed tasks stay for an operator to retry. Vectors whose
text no current chunk has are removed too. A chunk committed while that delete ran may reuse
one of those texts unseen by it, so the texts removed are looked up again afterwards and their
articles queued: an article never stays without a vector because cleanup ran beside its write.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import asyncpg

from article_mcp.db.pool import Connection
from article_mcp.db.sql import Queries
from article_mcp.queue.tasks import enqueue

QUERIES = Queries("article_mcp.queue", "cleanup.sql")


@dataclass(frozen=True, slots=True)
class CleanupResult:
    """How many rows of each kind a cleanup removed, and the articles it queued again."""

    tasks: int
    audit_logs: int
    metrics: int
    workers: int
    embeddings: int
    requeued: int


async def cleanup(conn: Connection, *, retention_days: int, max_attempts: int) -> CleanupResult:
    """Remove old rows and orphan vectors (each its own statement, outside any transaction)."""
    tasks = await conn.fetchval(QUERIES["delete_finished_tasks"], retention_days)
    audit_logs = await conn.fetchval(QUERIES["delete_old_audit_logs"], retention_days)
    metrics = await conn.fetchval(QUERIES["delete_old_metrics"], retention_days)
    workers = await conn.fetchval(QUERIES["delete_stopped_workers"], retention_days)
    removed = await conn.fetch(QUERIES["delete_orphan_embeddings"])
    requeued = await _requeue_reused(conn, removed, max_attempts)
    return CleanupResult(tasks, audit_logs, metrics, workers, embeddings=len(removed), requeued=requeued)


async def _requeue_reused(conn: Connection, removed: list[asyncpg.Record], max_attempts: int) -> int:
    by_model: dict[int, list[str]] = defaultdict(list)
    for row in removed:
        by_model[row["model_id"]].append(row["text_hash"])
    requeued = 0
    for model_id, hashes in by_model.items():
        rows = await conn.fetch(QUERIES["articles_needing"], model_id, hashes)
        ids = await enqueue(
            conn, [r["article_id"] for r in rows], model_id, source="cleanup", max_attempts=max_attempts
        )
        requeued += len(ids)
    return requeued
