"""The task state machine under any sequence of writes, deletes, claims, completions,
failures of every class and lease expiries, by two workers, on the real database.

After every step: never two tasks of one article in processing at once (one worker per
article), and no article left unembedded with nothing queued for it (a lost update).
After draining: every article is ready, or its latest version's task failed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import anyio.from_thread
import asyncpg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from article_mcp.db.pool import connect
from article_mcp.queue import tasks as queue
from article_mcp.queue.tasks import ClaimedTask, LeasedTask
from tests.support.queue_states import add_model
from tests.support.queue_writes import delete_article, statuses, write_article

T = TypeVar("T")

SLUGS = ("a", "b", "c")
WORKERS = ("w1", "w2")
# Few distinct paragraphs, so versions and articles share texts (and so vectors).
PARAGRAPHS = ("alpha beta gamma", "delta epsilon", "zeta eta theta iota", "kappa lambda mu")
LEASE_MS = 600_000
MAX_ATTEMPTS = 2
MACHINE_SETTINGS = settings(
    max_examples=30, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

contents = st.lists(st.sampled_from(PARAGRAPHS), min_size=1, max_size=3).map("\n\n".join)


def vector_of(text_hash: str) -> list[float]:
    """A fake vector, a function of the text: what a provider would return for it."""
    digest = hashlib.sha256(text_hash.encode()).digest()
    return [digest[0] / 255, digest[1] / 255, 1.0]


class QueueMachine(RuleBasedStateMachine):
    """Drives the queue's statements as workers and writers would; the database is the state."""

    portal: anyio.from_thread.BlockingPortal
    conn: asyncpg.Connection

    def __init__(self) -> None:
        super().__init__()
        self.call(self._reset)
        self.model = self.call(lambda: add_model(self.conn))
        self.held: dict[str, list[ClaimedTask]] = {w: [] for w in WORKERS}

    def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        return self.portal.call(fn)

    async def _reset(self) -> None:
        await self.conn.execute(
            "TRUNCATE articles, article_chunks, chunk_postings, lexeme_stats, chunk_embeddings,"
            " embedding_tasks, embedding_models, embedding_audit_logs RESTART IDENTITY CASCADE;"
            " UPDATE corpus_stats SET chunk_count = 0, total_length = 0"
        )

    # -- writers ---------------------------------------------------------------------------

    @rule(slug=st.sampled_from(SLUGS), content=contents, priority=st.sampled_from(("high", "normal", "low")))
    def write(self, slug: str, content: str, priority: queue.Priority) -> None:
        self.call(
            lambda: write_article(
                self.conn, slug, content, self.model, priority=priority, max_attempts=MAX_ATTEMPTS
            )
        )

    @rule(slug=st.sampled_from(SLUGS))
    def delete(self, slug: str) -> None:
        self.call(lambda: delete_article(self.conn, slug))

    # -- workers ---------------------------------------------------------------------------

    @rule(worker=st.sampled_from(WORKERS), limit=st.integers(1, 3))
    def claim(self, worker: str, limit: int) -> None:
        # A worker with a batch in hand is busy; a claim replaces nothing it holds.
        if self.held[worker]:
            return
        self.held[worker] = self.call(
            lambda: queue.claim(self.conn, worker, self.model, limit=limit, lease_ms=LEASE_MS)
        )

    @precondition(lambda self: any(self.held.values()))
    @rule(worker=st.sampled_from(WORKERS))
    def complete(self, worker: str) -> None:
        """The provider answered for the texts seen at claim time, however long ago that was."""
        tasks, self.held[worker] = self.held[worker], []
        vectors = {c.text_hash: vector_of(c.text_hash) for t in tasks for c in t.chunks}
        self.call(lambda: queue.complete(self.conn, worker, self.model, {t.id: 1 for t in tasks}, vectors))

    @precondition(lambda self: any(self.held.values()))
    @rule(
        worker=st.sampled_from(WORKERS),
        reason=st.sampled_from(("transient", "rate_limited", "permanent", "released")),
    )
    def fail(self, worker: str, reason: queue.SettleReason) -> None:
        tasks, self.held[worker] = self.held[worker], []
        leased = [LeasedTask(t.id, worker) for t in tasks]
        self.call(lambda: queue.settle(self.conn, leased, reason, message=f"{reason} error"))

    @rule(worker=st.sampled_from(WORKERS))
    def lease_expires(self, worker: str) -> None:
        """The worker stalls past its lease (it still believes it holds its tasks); another reaps."""
        self.call(
            lambda: self.conn.execute(
                "UPDATE embedding_tasks SET lease_expires_at = now() - interval '1 second'"
                " WHERE status = 'processing' AND lease_owner = $1",
                worker,
            )
        )
        self.call(lambda: queue.reap_expired(self.conn))

    # -- what must always hold -------------------------------------------------------------

    @invariant()
    def one_worker_per_article(self) -> None:
        doubled = self.call(
            lambda: self.conn.fetch(
                "SELECT article_id FROM embedding_tasks WHERE status = 'processing'"
                " GROUP BY article_id, model_id HAVING count(*) > 1"
            )
        )
        assert doubled == []

    @invariant()
    def no_article_is_forgotten(self) -> None:
        found = self.call(lambda: statuses(self.conn, self.model))
        assert not {slug: s for slug, s in found.items() if s in ("stale", "missing")}

    def teardown(self) -> None:
        self.call(self._drain)
        rows = self.call(
            lambda: self.conn.fetch(
                "SELECT a.slug, a.version, t.status::text AS last_status, t.article_version"
                " FROM articles a LEFT JOIN LATERAL (SELECT status, article_version FROM embedding_tasks"
                " WHERE article_id = a.id ORDER BY id DESC LIMIT 1) t ON true"
            )
        )
        found = self.call(lambda: statuses(self.conn, self.model))
        for row in rows:
            status = found[row["slug"]]
            # Not ready only when the task of its latest version failed: never a lost update.
            assert status == "ready" or (
                status == "failed"
                and row["last_status"] == "failed"
                and row["article_version"] == row["version"]
            ), dict(row)

    async def _drain(self) -> None:
        """Every worker gone: leases expire, then one worker runs everything due."""
        await self.conn.execute(
            "UPDATE embedding_tasks SET lease_expires_at = now() - interval '1 second'"
            " WHERE status = 'processing'"
        )
        await queue.reap_expired(self.conn)
        for _ in range(50):
            await self.conn.execute(
                "UPDATE embedding_tasks SET scheduled_at = now() WHERE status = 'pending'"
            )
            tasks = await queue.claim(self.conn, "drainer", self.model, limit=100, lease_ms=LEASE_MS)
            if not tasks:
                return
            vectors = {c.text_hash: vector_of(c.text_hash) for t in tasks for c in t.chunks}
            await queue.complete(self.conn, "drainer", self.model, {t.id: 1 for t in tasks}, vectors)
        raise AssertionError("the queue did not drain")


@contextmanager
def machine_on(dsn: str) -> Iterator[type[QueueMachine]]:
    """The state machine class bound to a database, through a portal to an event loop."""
    with anyio.from_thread.start_blocking_portal() as portal:
        conn = portal.call(connect, dsn)
        try:
            yield type("BoundQueueMachine", (QueueMachine,), {"portal": portal, "conn": conn})
        finally:
            portal.call(conn.close)


def test_no_sequence_of_operations_loses_an_update_or_doubles_a_worker(
    anyio_backend: Any, database_url: str
) -> None:
    with machine_on(database_url) as machine:
        run_state_machine_as_test(
            machine,
            settings=MACHINE_SETTINGS,
        )


def test_the_machine_can_fail(anyio_backend: Any, database_url: str) -> None:
    """A queue that drops the update arriving mid-embedding is caught (the test can fail)."""
    with machine_on(database_url) as machine:

        class Forgetful(machine):  # type: ignore[valid-type, misc]
            @rule()
            def forget_pending(self) -> None:
                self.call(lambda: self.conn.execute("DELETE FROM embedding_tasks WHERE status = 'pending'"))

        with pytest.raises(AssertionError):
            run_state_machine_as_test(
                Forgetful,
                settings=MACHINE_SETTINGS,
            )
