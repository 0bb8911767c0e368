"""The embedding queue: tasks in `embedding_tasks`, moved by single SQL statements (`queue.sql`).

    enqueue ──▶ pending ──claim──▶ processing ──complete──▶ completed
                   ▲                   │ settle: transient / expired lease / 429 / unreachable / shutdown
                   └───────────────────┤          (or merged into the article's pending task)
                                       └─settle: permanent, attempts spent──▶ failed
    cancel_for_articles: pending | processing ──▶ cancelled

Guarantees, and what gives them:
- At most one pending task per article and model (a partial unique index); a second enqueue
  merges into it. A task being processed and a pending one may coexist: an update arrived
  mid-embedding, and the pending task will embed the new text.
- One worker per article at a time: the claim skips articles with a task in processing.
- The provider is called outside any transaction. Vectors are keyed by the hash of the text
  embedded and stored only if a current chunk still has that text, so a result that arrives
  after an update never describes the new text; only a worker that still holds a task's lease
  completes it.
- Every way out of `processing` is a statement that checks the lease owner, so a worker that
  lost its lease (expired, cancelled) changes nothing.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, get_args

import asyncpg
from pgvector import Vector

from article_mcp.db.pool import Connection
from article_mcp.db.sql import Queries

QUERIES = Queries("article_mcp.queue", "tasks.sql")

# The channel `enqueue` notifies and workers listen on.
NOTIFY_CHANNEL = "embedding_tasks"
# The channel completions are announced on ('<model id>:<article id>,...'; see finish_and_claim).
EMBEDDED_CHANNEL = "articles_embedded"

Priority = Literal["high", "normal", "low"]
PRIORITIES: tuple[Priority, ...] = get_args(Priority)
StatusName = Literal["disabled", "ready", "pending", "failed", "stale", "missing"]
# Why a task leaves `processing` without completing (see settle_tasks in queue.sql).
SettleReason = Literal["transient", "expired", "rate_limited", "unreachable", "released", "permanent"]
Outcome = Literal["retry", "failed", "merged", "cancelled"]

_ERROR_KIND: dict[SettleReason, str | None] = {
    "transient": "transient",
    "expired": "transient",
    "rate_limited": "rate_limited",
    "unreachable": "unreachable",
    "released": None,
    "permanent": "permanent",
}
# Concurrent statements that make settle_tasks try again: an enqueue that created the
# article's pending task after our snapshot, or a deadlock broken by the server.
_RETRYABLE = (asyncpg.UniqueViolationError, asyncpg.DeadlockDetectedError)
_SETTLE_TRIES = 5


@dataclass(frozen=True, slots=True)
class PendingChunk:
    """A current chunk of a claimed article that has no vector for the model yet."""

    heading_path: tuple[str, ...]
    text: str
    text_hash: str
    token_count: int


class ClaimedTask(NamedTuple):
    """A task a worker holds, with what its article still needs embedded.

    A NamedTuple, not a frozen dataclass: a worker builds one per claimed task, and a tuple is
    built about four times faster.
    """

    id: int
    article_id: int | None
    # The article's title, read only when some chunk needs embedding (None otherwise).
    title: str | None
    attempts: int
    max_attempts: int
    chunks: tuple[PendingChunk, ...]


@dataclass(frozen=True, slots=True)
class LeasedTask:
    """A task in processing and the worker holding its lease."""

    id: int
    owner: str


@dataclass(frozen=True, slots=True)
class Partition:
    """The tasks a worker takes (`article-mcp worker --priority --folder`): those of these
    priorities, of articles in `folder` or below it (any folder when None). The default is
    everything: the server's own workers, and any worker started without either flag."""

    priorities: tuple[Priority, ...] = PRIORITIES
    folder: str | None = None

    @property
    def everything(self) -> bool:
        """True for an unpartitioned worker."""
        return set(self.priorities) == set(PRIORITIES) and self.folder is None

    def __str__(self) -> str:
        parts = [] if set(self.priorities) == set(PRIORITIES) else [f"priority {','.join(self.priorities)}"]
        parts += [] if self.folder is None else [f"folder {self.folder}"]
        return "; ".join(parts) or "every task"


EVERYTHING = Partition()


@dataclass(frozen=True, slots=True)
class ArticleEmbeddingStatus:
    """An article's embedding status for a model, and its latest task."""

    status: StatusName
    task_id: int | None


def max_attempts(max_retries: int) -> int:
    """Attempts a task gets: the first one plus EMBEDDING_MAX_RETRIES retries."""
    return max_retries + 1


async def enqueue(
    conn: Connection,
    article_ids: Sequence[int],
    model_id: int | None,
    *,
    priority: Priority = "normal",
    source: str = "write",
    max_attempts: int,
) -> list[int]:
    """Queue embeddings of these articles with `model_id`, or with every model writes embed for
    when None (the active one, those building, those retired within their grace); merges into
    pending tasks and wakes workers at commit.

    Call it in the transaction that writes the articles. Articles marked no_rag are skipped.
    Returns the task ids in article id order, each article's task for the active model first.
    """
    if not article_ids:
        return []
    rows = await conn.fetch(QUERIES["enqueue"], list(article_ids), model_id, priority, max_attempts, source)
    return [row["id"] for row in rows]


async def notify_workers(conn: Connection) -> None:
    """Wake every worker (after requeueing tasks or resuming the queue); sent at commit."""
    await conn.execute(QUERIES["notify_workers"])


async def cancel_for_articles(
    conn: Connection, article_ids: Sequence[int], *, reason: str = "article deleted"
) -> int:
    """Cancel the pending and processing tasks of these articles; returns how many."""
    if not article_ids:
        return 0
    count: int = await conn.fetchval(QUERIES["cancel_for_articles"], list(article_ids), reason)
    return count


@dataclass(frozen=True, slots=True)
class Completion:
    """What finishing a batch wrote: vectors stored and tasks completed."""

    stored: int
    completed: int


async def finish_and_claim(
    conn: Connection,
    worker_id: str,
    model_id: int,
    *,
    tokens_by_task: Mapping[int, int] | None = None,
    vectors: Mapping[str, Sequence[float]] | None = None,
    limit: int = 0,
    lease_ms: int = 0,
    task_ids: Sequence[int] | None = None,
    partition: Partition = EVERYTHING,
) -> tuple[Completion, list[ClaimedTask]]:
    """Finish a batch and claim the next in one round trip and one commit.

    Finish: store the vectors (by text hash) current chunks still need, and complete the tasks
    (`tokens_by_task`) this worker still holds. Claim: up to `limit` due tasks of `partition`
    (only `task_ids` when given), with a lease of `lease_ms`. Safe to repeat with `limit=0` after a lost
    connection: nothing is stored or completed twice.

    Both are runs of one statement, sent together: they share a transaction, but the claim
    takes its snapshot after the finish. A snapshot taken before the finish would show the
    claim tasks that other workers claimed meanwhile as pending; SKIP LOCKED locks such a task
    before finding it taken, and its worker's next completion waits for that lock.
    """
    done = dict(tokens_by_task or {})
    sent = dict(vectors or {})
    embeddings = [Vector(list(v)) for v in sent.values()]
    ids = list(task_ids) if task_ids is not None else None
    scope = [list(partition.priorities), partition.folder]
    finish: list[Any] = [
        worker_id,
        model_id,
        list(done),
        list(done.values()),
        list(sent),
        embeddings,
        0,
        lease_ms,
        None,
        *scope,
    ]
    claim: list[Any] = [worker_id, model_id, [], [], [], [], limit, lease_ms, ids, *scope]
    runs = [args for args, wanted in ((finish, done or sent), (claim, limit)) if wanted]
    if not runs:
        return Completion(stored=0, completed=0), []
    rows = await conn.fetchmany(QUERIES["finish_and_claim"], runs)
    claimed = [_claimed_task(*fields) for fields in rows[-1]["claimed"] or ()]
    stored, completed = sum(r["stored"] for r in rows), sum(r["completed"] for r in rows)
    return Completion(stored=stored, completed=completed), claimed


def _claimed_task(
    task_id: int, article_id: int | None, attempts: int, max_attempts: int, work: Any
) -> ClaimedTask:
    if work is None:
        return ClaimedTask(task_id, article_id, None, attempts, max_attempts, ())
    title, chunks = work
    return ClaimedTask(
        id=task_id,
        article_id=article_id,
        title=title,
        attempts=attempts,
        max_attempts=max_attempts,
        chunks=tuple(
            PendingChunk(tuple(path), text, text_hash, tokens) for path, text, text_hash, tokens in chunks
        ),
    )


async def reuse_plans(conn: Connection) -> None:
    """Plan `finish_and_claim` once on this connection, for a worker's run of batches (not for
    a claim of given ids); the pool undoes it on release. See reuse_plans in queue.sql."""
    await conn.execute(QUERIES["reuse_plans"])


async def claim(
    conn: Connection,
    worker_id: str,
    model_id: int,
    *,
    limit: int,
    lease_ms: int,
    task_ids: Sequence[int] | None = None,
    partition: Partition = EVERYTHING,
) -> list[ClaimedTask]:
    """Claim up to `limit` due tasks of `partition` (only `task_ids` when given), with what
    they need embedded."""
    _, claimed = await finish_and_claim(
        conn, worker_id, model_id, limit=limit, lease_ms=lease_ms, task_ids=task_ids, partition=partition
    )
    return claimed


async def complete(
    conn: Connection,
    worker_id: str,
    model_id: int,
    tokens_by_task: Mapping[int, int],
    vectors: Mapping[str, Sequence[float]],
) -> Completion:
    """Store vectors still needed and complete the tasks this worker still holds (claims nothing)."""
    done, _ = await finish_and_claim(
        conn, worker_id, model_id, tokens_by_task=tokens_by_task, vectors=vectors
    )
    return done


async def settle(
    conn: Connection,
    tasks: Sequence[LeasedTask],
    reason: SettleReason,
    *,
    delays_ms: Sequence[float] | None = None,
    message: str | None = None,
) -> dict[int, Outcome]:
    """Take tasks out of processing without completing them (retry, fail, merge), by reason.

    `delays_ms` (one per task, 0 by default) is when each retry is due. Returns each settled
    task's outcome; tasks no longer held by their owner are left out.
    """
    if not tasks:
        return {}
    delays = list(delays_ms) if delays_ms is not None else [0.0] * len(tasks)
    args = ([t.id for t in tasks], [t.owner for t in tasks], reason, delays, _ERROR_KIND[reason], message)
    for attempt in range(_SETTLE_TRIES):
        try:
            rows = await conn.fetch(QUERIES["settle_tasks"], *args)
        except _RETRYABLE:
            if attempt == _SETTLE_TRIES - 1:
                raise
            continue
        return {row["id"]: row["outcome"] for row in rows}
    raise AssertionError("unreachable")  # pragma: no cover


async def reap_expired(conn: Connection, *, limit: int = 1000) -> dict[int, Outcome]:
    """Requeue (or fail, when their attempts are spent) tasks whose worker's lease ran out."""
    rows = await conn.fetch(QUERIES["expired_leases"], limit)
    tasks = [LeasedTask(row["id"], row["lease_owner"]) for row in rows]
    return await settle(conn, tasks, "expired", message="lease expired: the worker stopped responding")


async def release_held(conn: Connection, model_id: int) -> int:
    """Make the tasks held back for an unreachable or rate-limiting provider due now (it
    answers again) and wake the workers; returns how many."""
    count: int = await conn.fetchval(QUERIES["release_held"], model_id)
    return count


def retry_delay_ms(
    base_ms: float, attempt: int, rng: random.Random | None = None, *, max_ms: float = math.inf
) -> float:
    """Backoff before retry `attempt` (1-based): base * 2^(attempt-1) up to `max_ms`, jittered
    down by up to half.

    The jitter spreads workers that failed together; each delay is at least the previous one's
    upper half, so delays still grow attempt after attempt (until the cap).
    """
    full: float = min(base_ms * 2 ** max(attempt - 1, 0), max_ms)
    draw: float = (rng or random).random()
    return full * (0.5 + 0.5 * draw)


async def embedding_statuses(
    conn: Connection, article_ids: Sequence[int], model_id: int
) -> dict[int, ArticleEmbeddingStatus]:
    """The computed embedding status of each article for the model (see embedding_statuses SQL)."""
    rows = await conn.fetch(QUERIES["embedding_statuses"], list(article_ids), model_id)
    return {row["article_id"]: ArticleEmbeddingStatus(row["status"], row["task_id"]) for row in rows}
