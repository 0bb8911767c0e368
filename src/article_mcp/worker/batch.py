"""One claimed batch, from tasks to stored vectors: the step every worker (and `embed_now`) runs.

1. Plan (`plan.plan_batch`): the chunks the claimed articles still need, each text once.
2. Embed: all texts together, in as few provider calls as its batch size allows, outside any
   transaction, within EMBEDDING_WORKER_TIMEOUT. The first result teaches the model its
   dimension; a mismatch is permanent.
3. Write: one statement stores the vectors still needed and completes the tasks still held. A
   lost connection is retried (the statement is idempotent) while the leases last.
   A provider error settles the batch by its class instead (retry, rate-limited, unreachable,
   failed); rate limits and outages open the process's circuit (`circuit.Circuit`).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import anyio
import structlog

from article_mcp.config import Settings
from article_mcp.db.pool import CONNECTION_ERRORS, Connection, Database
from article_mcp.embeddings.batching import embed_texts
from article_mcp.embeddings.providers.base import EmbeddingBatch, EmbeddingProvider
from article_mcp.embeddings.registry import ModelRecord, check_dimensions, record_dimensions
from article_mcp.errors import (
    PermanentProviderError,
    ProviderError,
    ProviderUnreachableError,
    RateLimitedError,
    TransientProviderError,
    describe,
)
from article_mcp.queue.tasks import (
    EVERYTHING,
    ClaimedTask,
    LeasedTask,
    Partition,
    SettleReason,
    finish_and_claim,
    retry_delay_ms,
    settle,
)
from article_mcp.worker.budget import Clock, TokenBudget, utc_now
from article_mcp.worker.circuit import Circuit
from article_mcp.worker.heartbeat import BatchMetrics, WorkerBook, WorkerSlot
from article_mcp.worker.plan import Plan, plan_batch

log = structlog.get_logger(__name__)

T = TypeVar("T")

# How long to wait between tries of a write whose connection was lost.
WRITE_RETRY_SECONDS = 1.0


class BatchRunner:
    """Runs claimed batches for the workers of one process; learns the model's dimension once."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        provider: EmbeddingProvider,
        model: ModelRecord,
        book: WorkerBook,
        clock: Clock = utc_now,
        partition: Partition = EVERYTHING,
    ) -> None:
        self.settings = settings
        self.db = db
        self.provider = provider
        self.model = model
        self.book = book
        # The tasks this process's workers take (`article-mcp worker --priority --folder`).
        self.partition = partition
        # Open while the provider is unreachable or rate limiting: nothing is claimed then.
        self.circuit = Circuit(settings)
        # Spent for the day: nothing is claimed until midnight UTC.
        self.budget = TokenBudget(settings.embedding_daily_token_budget, clock)
        self._dimension_lock = anyio.Lock()

    async def run(
        self,
        slot: WorkerSlot,
        tasks: Sequence[ClaimedTask],
        *,
        claim_next: int = 0,
        conn: Connection | None = None,
    ) -> list[ClaimedTask]:
        """Embed and store what the tasks need, or settle them by the provider's error.

        With `claim_next`, the statement that stores the results also claims up to that many
        new tasks; they are returned, already in the slot's hands (`in_flight`). The results
        are written on `conn` when given (a pooled connection otherwise, and for any retry).
        """
        started = time.perf_counter()
        plan = plan_batch(tasks, max_tokens=self.settings.chunk_size)
        metrics = _Metrics(slot.worker_id, self.model.id, len(tasks), plan.chunks)
        metrics.failures = await self._settle_mismatched(slot, plan.mismatched)
        held = [t for t in tasks if t.id in plan.tokens_by_task]
        try:
            vectors, usage = await self._embed(plan)
        except ProviderError as exc:
            failed = time.perf_counter()
            metrics.failures += await self._settle_error(slot, held, exc)
            self.book.record(metrics.done(started, failed, self.budget.now()))
            return []
        metrics.embedded = len(plan.texts)
        if usage is not None:
            metrics.tokens, metrics.usage_source = usage.tokens, usage.usage_source
            self.budget.spent(usage.tokens, self.budget.now())
            self.circuit.embedded([t.id for t in held])
        embedded = time.perf_counter()
        following = await self._write(slot, plan, vectors, metrics.tokens, claim_next, conn)
        self.book.record(metrics.done(started, embedded, self.budget.now()))
        return following

    async def give_back(self, slot: WorkerSlot, reason: SettleReason, message: str) -> None:
        """Settle the tasks the slot still holds: `released` at shutdown (the attempt not
        counted), `transient` after a failure of the worker itself (retried after the backoff)."""
        leased = [LeasedTask(task_id, slot.worker_id) for task_id in slot.in_flight]
        delays = [float(self.settings.embedding_retry_backoff_base if reason == "transient" else 0)] * len(
            leased
        )
        async with self.db.pool.acquire() as conn:
            await settle(conn, leased, reason, delays_ms=delays, message=message)
        slot.in_flight = ()

    async def _embed(self, plan: Plan) -> tuple[dict[str, list[float]], EmbeddingBatch | None]:
        """The vectors by text hash, and the calls' token usage (None: nothing to send)."""
        if not plan.texts:
            return {}, None
        timeout = self.settings.embedding_worker_timeout / 1000
        try:
            with anyio.fail_after(timeout):
                batch = await embed_texts(
                    self.provider, plan.texts, self.settings.embedding_provider_batch_size
                )
        except ProviderError:
            raise
        except TimeoutError as exc:
            # Slow as a whole, not unreachable (each call has its own timeout): maybe the
            # batch is too big, so it spends an attempt.
            raise TransientProviderError(
                f"the batch took longer than EMBEDDING_WORKER_TIMEOUT ({timeout:g} s)"
            ) from exc
        except Exception as exc:
            # A provider bug is not the task's fault: retried as transient, and logged for a person.
            log.exception("provider_failed_unexpectedly")
            raise TransientProviderError(f"unexpected provider failure: {type(exc).__name__}") from exc
        await self._check_dimensions(batch.vectors)
        return dict(zip(plan.hashes, batch.vectors, strict=True)), batch

    async def _check_dimensions(self, vectors: Sequence[Sequence[float]]) -> None:
        sizes = {len(v) for v in vectors}
        if len(sizes) != 1:
            raise PermanentProviderError(
                f"model {self.model.name} returned vectors of different lengths {sorted(sizes)}"
            )
        [dims] = sizes
        if self.model.dimensions is None:
            async with self._dimension_lock:
                if self.model.dimensions is None:
                    async with self.db.pool.acquire() as conn:
                        self.model = await record_dimensions(conn, self.model, dims)
        check_dimensions(self.model, dims)

    async def _write(
        self,
        slot: WorkerSlot,
        plan: Plan,
        vectors: dict[str, list[float]],
        tokens: int,
        claim_next: int,
        conn: Connection | None,
    ) -> list[ClaimedTask]:
        # A batch that spent the day's budget claims no next one.
        limit = 0 if self.budget.resets_at() is not None else claim_next
        held, charged = conn, plan.charge(tokens)

        async def write() -> list[ClaimedTask]:
            nonlocal limit, held
            # A retry only finishes, on a fresh connection: a claim whose answer was lost is
            # left to its lease.
            claim, limit = limit, 0
            async with self._connection(held) as current:
                held = None
                done, following = await finish_and_claim(
                    current,
                    slot.worker_id,
                    self.model.id,
                    tokens_by_task=charged,
                    vectors=vectors,
                    limit=claim,
                    lease_ms=self.settings.embedding_lease_ms,
                    partition=self.partition,
                )
            slot.completed += done.completed
            slot.in_flight = tuple(t.id for t in following)
            return following

        return await self._retrying(write)

    @asynccontextmanager
    async def _connection(self, conn: Connection | None) -> AsyncIterator[Connection]:
        """`conn`, or a pooled connection when there is none."""
        if conn is not None:
            yield conn
            return
        async with self.db.pool.acquire() as pooled:
            yield pooled

    async def _retrying(self, write: Callable[[], Awaitable[T]]) -> T:
        """Run a write that is safe to repeat, retrying a lost connection until the leases would be gone."""
        deadline = time.monotonic() + self.settings.embedding_lease_ms / 1000
        while True:
            try:
                return await write()
            except CONNECTION_ERRORS as exc:
                if time.monotonic() + WRITE_RETRY_SECONDS > deadline:
                    raise
                log.warning("write_retry", error=describe(exc))
                await anyio.sleep(WRITE_RETRY_SECONDS)

    async def _settle_error(self, slot: WorkerSlot, tasks: Sequence[ClaimedTask], exc: ProviderError) -> int:
        reason, wait = self._classify(exc, [t.id for t in tasks])
        if wait is not None:
            delays = [1000 * wait] * len(tasks)
        else:
            base, cap = self.settings.embedding_retry_backoff_base, self.circuit.cap * 1000
            delays = [retry_delay_ms(base, task.attempts, max_ms=cap) for task in tasks]
        log.warning("batch_failed", kind=reason, error=exc.message, tasks=len(tasks))
        return await self._settle(slot, tasks, reason, delays, exc.message)

    def _classify(self, exc: ProviderError, task_ids: list[int]) -> tuple[SettleReason, float | None]:
        """How a provider error settles a batch, and the wait in seconds (None: the task's own
        backoff). Rate limits and outages open the circuit and spend no attempt."""
        if isinstance(exc, RateLimitedError):
            return "rate_limited", self.circuit.rate_limited(exc.retry_after)
        if isinstance(exc, ProviderUnreachableError) and not self.circuit.to_blame(task_ids):
            wait = self.circuit.unreachable(exc.message, task_ids)
            if wait:
                log.warning("provider_unreachable", error=exc.message, probe_in_seconds=round(wait, 3))
            return "unreachable", wait
        return exc.kind, None

    async def _settle_mismatched(self, slot: WorkerSlot, tasks: Sequence[ClaimedTask]) -> int:
        if not tasks:
            return 0
        message = (
            "the article's chunks were cut with another CHUNK_SIZE: save the article again"
            " or rebuild its chunks"
        )
        return await self._settle(slot, tasks, "permanent", [0.0] * len(tasks), message)

    async def _settle(
        self,
        slot: WorkerSlot,
        tasks: Sequence[ClaimedTask],
        reason: SettleReason,
        delays: list[float],
        message: str,
    ) -> int:
        leased = [LeasedTask(t.id, slot.worker_id) for t in tasks]

        async def write() -> int:
            async with self.db.pool.acquire() as conn:
                outcomes = await settle(conn, leased, reason, delays_ms=delays, message=message)
            return sum(1 for outcome in outcomes.values() if outcome == "failed")

        failed = await self._retrying(write)
        slot.failed += failed
        slot.last_error = message
        slot.in_flight = tuple(i for i in slot.in_flight if i not in {t.id for t in tasks})
        return len(tasks)


@dataclass(slots=True)
class _Metrics:
    """A batch's performance row, filled in as the batch goes."""

    worker_id: str
    model_id: int
    tasks: int
    chunks: int
    embedded: int = 0
    tokens: int = 0
    failures: int = 0
    usage_source: str | None = None

    def done(self, started: float, embedded: float, at: datetime) -> BatchMetrics:
        finished = time.perf_counter()
        return BatchMetrics(
            worker_id=self.worker_id,
            model_id=self.model_id,
            tasks=self.tasks,
            chunks=self.chunks,
            embedded=self.embedded,
            tokens=self.tokens,
            failures=self.failures,
            embed_ms=1000 * (embedded - started),
            write_ms=1000 * (finished - embedded),
            total_ms=1000 * (finished - started),
            recorded_at=at,
            usage_source=self.usage_source,
        )
