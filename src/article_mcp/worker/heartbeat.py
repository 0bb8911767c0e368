"""The workers of this process as the database sees them (`worker_status.sql`).

Each worker has its row in `embedding_worker_status`. The heartbeat is one statement per
process and beat: it reports every worker's state and counters (and whether the provider is
unreachable), extends the leases of the tasks they still work on, and writes the audit events
and performance rows gathered since the last beat in bulk. What a failed beat could not write
stays buffered for the next one.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from typing import Any, Literal

from article_mcp.db.pool import Connection
from article_mcp.db.sql import Queries
from article_mcp.worker.circuit import Outage

QUERIES = Queries("article_mcp.worker", "heartbeat.sql")

WorkerState = Literal["starting", "idle", "busy", "paused", "stopping", "stopped"]
Level = Literal["debug", "info", "warning", "error"]

# Rows kept for the next beat while the database is away; older ones are dropped first.
MAX_BUFFERED = 10_000


@dataclass(slots=True)
class WorkerSlot:
    """One worker of this process and what its next heartbeat reports."""

    worker_id: str
    state: WorkerState = "starting"
    completed: int = 0
    failed: int = 0
    last_error: str | None = None
    in_flight: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class BatchMetrics:
    """What one batch cost: a row of `performance_metrics`."""

    worker_id: str
    model_id: int
    tasks: int
    chunks: int
    embedded: int
    tokens: int
    failures: int
    embed_ms: float
    write_ms: float
    total_ms: float
    recorded_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # reported, counted or estimated (providers.base.UsageSource); None: nothing was sent.
    usage_source: str | None = None


def new_worker_id(index: int) -> str:
    """A worker id unique across hosts and restarts: host, pid, a random tag and the index."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}:{index}"


class WorkerBook:
    """The workers of this process, and the events and metrics their next heartbeat writes."""

    def __init__(self, slots: list[WorkerSlot]) -> None:
        self.slots = slots
        self.hostname = socket.gethostname()
        self.pid = os.getpid()
        self._events: list[dict[str, Any]] = []
        self._metrics: list[dict[str, Any]] = []

    def event(self, level: Level, event: str, message: str, worker_id: str, **metadata: Any) -> None:
        """Keep a worker audit event for the next beat."""
        row: dict[str, Any] = {"level": level, "event": event, "message": message, "worker_id": worker_id}
        row.update(timestamp=datetime.now(UTC).isoformat(), metadata=metadata)
        _append(self._events, row)

    def record(self, metrics: BatchMetrics) -> None:
        """Keep a batch's performance row for the next beat."""
        # Not dataclasses.asdict: its deep copy of every field is a cost paid once per batch.
        row: dict[str, Any] = {f.name: getattr(metrics, f.name) for f in fields(metrics)}
        row["recorded_at"] = metrics.recorded_at.isoformat()
        _append(self._metrics, row)

    def buffered_tokens(self, day: date) -> int:
        """Tokens of the batches of `day` (UTC) not yet written by a beat."""
        return sum(
            row["tokens"] for row in self._metrics if datetime.fromisoformat(row["recorded_at"]).date() == day
        )

    def set_state(self, state: WorkerState) -> None:
        """Put every worker in `state` (starting, stopping, stopped)."""
        for slot in self.slots:
            slot.state = state

    async def beat(
        self,
        conn: Connection,
        lease_ms: int,
        outage: Outage | None = None,
        budget_resets_at: datetime | None = None,
    ) -> bool:
        """Report (with the provider's `outage`, and the token budget's hold, if any), extend
        leases, flush events and metrics; return whether the queue is paused."""
        slots = list(self.slots)
        sent = [(s.completed, s.failed, s.last_error) for s in slots]
        events, metrics = list(self._events), list(self._metrics)
        leases = [(task_id, s.worker_id) for s in slots for task_id in s.in_flight]
        paused: bool = await conn.fetchval(
            QUERIES["heartbeat"],
            [s.worker_id for s in slots],
            self.hostname,
            self.pid,
            [s.state for s in slots],
            [done for done, _, _ in sent],
            [failed for _, failed, _ in sent],
            [error for _, _, error in sent],
            [task_id for task_id, _ in leases],
            [owner for _, owner in leases],
            lease_ms,
            events,
            metrics,
            outage.since if outage else None,
            outage.error if outage else None,
            budget_resets_at,
        )
        # Counters and buffers may have grown while the beat was on its way: keep the rest.
        for slot, (done, failed, error) in zip(slots, sent, strict=True):
            slot.completed -= done
            slot.failed -= failed
            if slot.last_error is error:
                slot.last_error = None
        del self._events[: len(events)]
        del self._metrics[: len(metrics)]
        return paused


def _append(buffer: list[dict[str, Any]], row: dict[str, Any]) -> None:
    buffer.append(row)
    if len(buffer) > MAX_BUFFERED:
        del buffer[: len(buffer) - MAX_BUFFERED]


async def mark_dead_workers(conn: Connection, silent_ms: int) -> int:
    """Mark stopped the workers (of any process) silent for `silent_ms`; returns how many."""
    count: int = await conn.fetchval(QUERIES["mark_dead_workers"], silent_ms)
    return count
