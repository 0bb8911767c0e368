"""The worker pool: EMBEDDING_CONCURRENT_WORKERS workers in one anyio task group.

Each worker claims a batch, embeds it (`batch.BatchRunner`) and claims again at once while
there is work; when there is none it sleeps until a NOTIFY on `embedding_tasks` wakes it, or
EMBEDDING_WORKER_INTERVAL passes (the fallback for a missed notification). Beside the workers:

- the listener holds one connection in LISTEN and reconnects when it is lost;
- the heartbeat reports every worker, extends the leases of work in flight, writes audit
  events and metrics in bulk, learns the pause switch, reaps expired leases of any worker
  (continuously, not only at start) and marks silent workers stopped;
- cleanup runs on EMBEDDING_CLEANUP_INTERVAL;
- the probe loop, while the provider's circuit is open (`circuit.Circuit`), sends one probe
  after each backoff and, once the provider answers, makes the held tasks due and wakes the
  workers. Workers claim nothing while the circuit is open, nor while the day's tokens have
  reached EMBEDDING_DAILY_TOKEN_BUDGET (`budget.TokenBudget`, learned at each heartbeat).

A lost database connection is logged and retried; nothing in the pool dies of it. Shutdown:
with a `shutdown` event set, workers take no new batch and finish theirs within `grace`
seconds; a batch still running then (or when the pool is cancelled) is released: back to
pending, its attempt not counted.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict

import anyio
import structlog
from anyio import CancelScope

from article_mcp.config import Settings
from article_mcp.db.pool import CONNECTION_ERRORS, Connection, Database
from article_mcp.embeddings.providers.base import EmbeddingProvider
from article_mcp.embeddings.registry import ModelRecord
from article_mcp.errors import describe
from article_mcp.passages import changes as passage_changes
from article_mcp.queue.cleanup import cleanup
from article_mcp.queue.tasks import (
    EVERYTHING,
    ClaimedTask,
    Partition,
    SettleReason,
    claim,
    max_attempts,
    reap_expired,
    release_held,
    reuse_plans,
)
from article_mcp.worker.batch import BatchRunner
from article_mcp.worker.budget import Clock, utc_now
from article_mcp.worker.circuit import probe
from article_mcp.worker.heartbeat import WorkerBook, WorkerSlot, mark_dead_workers, new_worker_id

log = structlog.get_logger(__name__)

# Bound on the database work done while stopping (release, final heartbeat).
STOP_TIMEOUT_SECONDS = 10.0
# The longest a heartbeat waits: leases are extended well before they run out.
MAX_HEARTBEAT_SECONDS = 10.0
# The first cleanup waits until the workers are under way.
FIRST_CLEANUP_SECONDS = 60.0
# A worker that cannot reach the database waits this long, doubling up to the poll interval.
FIRST_RETRY_SECONDS = 0.2


class WorkerPool:
    """The workers of one process and their shared state."""

    def __init__(self, runner: BatchRunner) -> None:
        self.runner = runner
        self.settings = runner.settings
        self.db = runner.db
        self.book = runner.book
        self.poll_seconds = self.settings.embedding_worker_interval / 1000
        self.lease_ms = self.settings.embedding_lease_ms
        self.circuit = runner.circuit
        self.budget = runner.budget
        self.paused = False
        self.stopping = False
        self._wake = anyio.Event()
        self._running = len(self.book.slots)
        self.all_stopped = anyio.Event()

    @classmethod
    def create(
        cls,
        settings: Settings,
        db: Database,
        provider: EmbeddingProvider,
        model: ModelRecord,
        *,
        workers: int,
        clock: Clock = utc_now,
        partition: Partition = EVERYTHING,
    ) -> WorkerPool:
        """A pool of `workers` workers sharing one batch runner, taking tasks of `partition`;
        `clock` is the budget's day."""
        book = WorkerBook([WorkerSlot(new_worker_id(i)) for i in range(workers)])
        return cls(BatchRunner(settings, db, provider, model, book, clock, partition))

    @property
    def heartbeat_seconds(self) -> float:
        """A third of the lease, so two beats may be missed before a lease runs out."""
        return min(self.lease_ms / 3000, MAX_HEARTBEAT_SECONDS)

    def wake(self) -> None:
        """Wake every idle worker (a notification, a resume, a reconnection)."""
        self._wake.set()
        self._wake = anyio.Event()

    # -- workers ----------------------------------------------------------------------------

    async def work(self, slot: WorkerSlot) -> None:
        """One worker: claim, embed, repeat; sleep when there is nothing to do."""
        failures = 0
        try:
            while not self.stopping:
                wake = self._wake
                try:
                    found = await self._step(slot)
                    failures = 0
                except Exception as exc:
                    # The pool outlives any one failure; the leases of a lost batch expire.
                    failures += 1
                    self._note_failure(slot, exc, failures)
                    await self._sleep(wake, min(FIRST_RETRY_SECONDS * 2**failures, self.poll_seconds))
                    continue
                if not found:
                    slot.state = "paused" if self.paused else "idle"
                    await self._sleep(wake, self.poll_seconds)
        finally:
            self._running -= 1
            if self._running == 0:
                self.all_stopped.set()

    async def _step(self, slot: WorkerSlot) -> bool:
        """Claim and run one batch; False when there was nothing to claim."""
        if self.circuit.is_open or self.budget.resets_at() is not None:
            return False
        # One connection for a run of batches: a pooled connection is reset on each release.
        # Behind a pooler in transaction mode there is no session to keep plans in.
        async with self.db.pool.acquire() as conn:
            if self.db.mode == "session":
                await reuse_plans(conn)
            tasks = await claim(
                conn,
                slot.worker_id,
                self.runner.model.id,
                limit=self.settings.embedding_batch_size,
                lease_ms=self.lease_ms,
                partition=self.runner.partition,
            )
            if not tasks:
                return False
            slot.state = "busy"
            while tasks:
                # Each batch's results are stored by the statement that claims the next one.
                tasks = await self.run_claimed(slot, tasks, claim_next=self._next_batch_size(), conn=conn)
        return True

    def _next_batch_size(self) -> int:
        """How many tasks to claim with the results of a batch: none when stopping or held back."""
        if self.stopping or self.paused or self.circuit.is_open or self.budget.resets_at() is not None:
            return 0
        return self.settings.embedding_batch_size

    async def run_claimed(
        self,
        slot: WorkerSlot,
        tasks: Sequence[ClaimedTask],
        *,
        claim_next: int = 0,
        conn: Connection | None = None,
    ) -> list[ClaimedTask]:
        """Run a claimed batch (and claim the next); what a failure or cancellation leaves held is
        given back."""
        slot.in_flight = tuple(t.id for t in tasks)
        try:
            return await self.runner.run(slot, tasks, claim_next=claim_next, conn=conn)
        except Exception as exc:
            # Counted as an attempt, so a task that keeps breaking the worker ends up failed.
            await self._give_back(slot, "transient", f"worker error: {describe(exc)}")
            raise
        except BaseException:
            await self._give_back(slot, "released", "released at shutdown")
            raise

    async def _give_back(self, slot: WorkerSlot, reason: SettleReason, message: str) -> None:
        if not slot.in_flight:
            return
        with anyio.CancelScope(shield=True), anyio.move_on_after(STOP_TIMEOUT_SECONDS):
            try:
                await self.runner.give_back(slot, reason, message)
            except Exception as exc:
                log.warning("give_back_failed", worker_id=slot.worker_id, error=describe(exc))
        # Not given back (no database): the leases run out and any worker reaps them.
        slot.in_flight = ()

    def _note_failure(self, slot: WorkerSlot, exc: Exception, failures: int) -> None:
        slot.last_error = describe(exc)
        if isinstance(exc, CONNECTION_ERRORS):
            log.warning("database_unreachable", worker_id=slot.worker_id, error=slot.last_error)
        else:
            log.error("worker_step_failed", worker_id=slot.worker_id, exc_info=exc)
        if failures == 1:
            self.book.event("error", "worker_error", slot.last_error, slot.worker_id)

    async def _sleep(self, wake: anyio.Event, seconds: float) -> None:
        with anyio.move_on_after(seconds):
            await wake.wait()

    # -- beside the workers -----------------------------------------------------------------

    async def heartbeat_loop(self) -> None:
        """Beat, reap and mark dead workers, forever."""
        while True:
            await anyio.sleep(self.heartbeat_seconds)
            try:
                await self.beat()
            except Exception as exc:
                log.warning("heartbeat_failed", error=describe(exc))

    async def beat(self) -> None:
        """One heartbeat; wakes the workers when the queue resumes or expired leases come back."""
        async with self.db.pool.acquire() as conn:
            paused = await self.book.beat(conn, self.lease_ms, self.circuit.outage, self.budget.resets_at())
            await self.budget.learn(conn, self.book.buffered_tokens)
            reaped = await reap_expired(conn)
            await mark_dead_workers(conn, self.lease_ms)
        resumed = self.paused and not paused
        if paused != self.paused:
            self.paused = paused
            event = "worker_paused" if paused else "worker_resumed"
            for slot in self.book.slots:
                self.book.event("info", event, "queue paused" if paused else "queue resumed", slot.worker_id)
        if reaped:
            log.info("leases_reaped", tasks=len(reaped))
        if reaped or resumed:
            self.wake()

    async def probe_loop(self) -> None:
        """While the circuit is open: at each probe time, one call decides; forever."""
        while True:
            await self.circuit.wait_opened()
            # A trip meanwhile (another 429) may have moved the probe later.
            delay = self.circuit.probe_at - time.monotonic()
            if delay > 0:
                await anyio.sleep(delay)
            elif await probe(self.circuit, self.runner.provider, self.settings.embedding_worker_timeout):
                await self._release_held()

    async def _release_held(self) -> None:
        for slot in self.book.slots:
            self.book.event("info", "provider_answering", "the provider answers again", slot.worker_id)
        try:
            async with self.db.pool.acquire() as conn:
                released = await release_held(conn, self.runner.model.id)
            log.info("held_tasks_released", tasks=released)
        except Exception as exc:
            # They come due at their own time anyway.
            log.warning("release_held_failed", error=describe(exc))
        self.wake()

    async def register(self) -> None:
        """The first heartbeat: every worker's row. A database away now is no reason to fail;
        the heartbeat loop registers them once it is back."""
        try:
            await self.beat()
        except Exception as exc:
            log.warning("worker_registration_failed", error=describe(exc))

    async def cleanup_loop(self) -> None:
        """Remove what retention no longer keeps: soon after start, then every
        EMBEDDING_CLEANUP_INTERVAL hours."""
        await anyio.sleep(FIRST_CLEANUP_SECONDS)
        while True:
            try:
                async with self.db.pool.acquire() as conn:
                    result = await cleanup(
                        conn,
                        retention_days=self.settings.embedding_cleanup_retention_days,
                        max_attempts=max_attempts(self.settings.embedding_max_retries),
                    )
                    # the passage change log too, for deployments where no server trims it
                    changes_trimmed = await passage_changes.trim(conn)
                log.info("cleanup_done", passage_changes=changes_trimmed, **asdict(result))
            except Exception as exc:
                log.warning("cleanup_failed", error=describe(exc))
            await anyio.sleep(self.settings.embedding_cleanup_interval * 3600)

    async def stop_on(self, shutdown: anyio.Event, workers: CancelScope, grace: float) -> None:
        """When `shutdown` is set: no new batches; after `grace` seconds, cancel what still runs."""
        await shutdown.wait()
        self.stopping = True
        self.book.set_state("stopping")
        for slot in self.book.slots:
            self.book.event("info", "worker_stopping", "finishing the current batch", slot.worker_id)
        self.wake()
        with anyio.move_on_after(grace):
            await self.all_stopped.wait()
        workers.cancel()

    async def finish(self) -> None:
        """Mark every worker stopped and flush what the heartbeat has gathered (bounded)."""
        self.book.set_state("stopped")
        for slot in self.book.slots:
            self.book.event("info", "worker_stopped", "worker stopped", slot.worker_id)
        with anyio.CancelScope(shield=True), anyio.move_on_after(STOP_TIMEOUT_SECONDS):
            try:
                async with self.db.pool.acquire() as conn:
                    await self.book.beat(conn, self.lease_ms, self.circuit.outage)
            except Exception as exc:
                log.warning("final_heartbeat_failed", error=describe(exc))
