"""Queue throughput: claim + complete of no-op tasks, side by side on one embedded PostgreSQL.

    .venv/bin/python scripts/bench_queue.py [--tasks 20000] [--batch-size 50] [--repeat 3]

Each system drains the same number of tasks, in its own database of one server:

- article-mcp: the real worker pool (`worker.run_pool`) with 1, 2 and 4 workers. Each task is
  for an article whose chunk has its vector already (a no-op: the stub provider is never
  called), so what is measured is the queue's own work, one statement per batch: completing
  the previous batch (lease check, one audit row listing the batch's tasks) and claiming the
  next (lease, attempt, one worker per article, the pause switch, the title and chunks still to
  embed), plus heartbeats and metrics.
- pgqueuer (from PyPI) in drain mode, one queue manager, a no-op entrypoint.
- bare loop, own table: a `FOR UPDATE SKIP LOCKED` claim of a batch, then an UPDATE marking it
  done, on a two-column table with one partial index: the floor of any Postgres queue.
- bare loop, task table: the same two statements on `embedding_tasks` itself (its columns,
  constraints and indexes), with no other bookkeeping: what the queue's logic costs beyond
  its table.

Every system takes `--batch-size` tasks at a time, one connection per worker. Each database is
analyzed after the tasks are queued, as autovacuum would have it in a running system. The
systems take turns within each round, so a busy moment of the machine hits them alike; the
table shows the median of `--repeat` rounds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

import anyio
import asyncpg
from pgqueuer import AsyncpgDriver, Queries, QueueManager
from pgqueuer.domain.types import QueueExecutionMode

from article_mcp.config import Settings
from article_mcp.db.migrate import migrate_to_latest
from article_mcp.db.pool import Database, create_pool
from article_mcp.embeddings.providers.base import EmbeddingBatch
from article_mcp.embeddings.registry import ModelRecord
from article_mcp.queue import tasks as queue
from article_mcp.worker.runs import run_pool
from bench_server import empty_databases, temporary_server

WORKER_COUNTS = (1, 2, 4)


class StubProvider:
    """A provider that answers at once; the no-op tasks never call it."""

    name = "stub"
    model = "noop"
    max_batch_size = 1000

    async def embed(self, texts: Sequence[str]) -> EmbeddingBatch:
        return EmbeddingBatch(vectors=[[1.0, 0.0, 0.0] for _ in texts])

    async def aclose(self) -> None:
        return None


# -- article-mcp ------------------------------------------------------------------------------


async def prepare_ours(dsn: str, tasks: int) -> int:
    """Articles with one already-embedded chunk each; returns the model id."""
    await migrate_to_latest(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        model_id: int = await conn.fetchval(
            "INSERT INTO embedding_models (provider, name, dimensions)"
            " VALUES ('stub', 'noop', 3) RETURNING id"
        )
        await conn.execute(
            "INSERT INTO articles (slug, title, content, content_hash)"
            " SELECT 'a' || i, 'A' || i, 'text', 'h' || i FROM generate_series(1, $1) AS i",
            tasks,
        )
        await conn.execute(
            "INSERT INTO article_chunks (article_id, article_version, chunk_index, content, text_hash,"
            " token_count, tsv, lexeme_count) SELECT id, 1, 0, 'text', 'h' || id, 1, 'text', 1 FROM articles"
        )
        await conn.execute(
            "INSERT INTO chunk_embeddings (model_id, text_hash, embedding)"
            " SELECT $1, text_hash, '[1,0,0]' FROM article_chunks",
            model_id,
        )
    finally:
        await conn.close()
    return model_id


async def enqueue_ours(dsn: str, model_id: int) -> None:
    """A pending task for every article, queued the way writes queue them."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "TRUNCATE embedding_tasks, embedding_audit_logs, performance_metrics, embedding_worker_status"
        )
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM articles ORDER BY id")]
        for start in range(0, len(ids), 10_000):
            await queue.enqueue(conn, ids[start : start + 10_000], model_id, max_attempts=4)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def run_ours(dsn: str, model_id: int, workers: int, batch_size: int) -> float:
    """Seconds the worker pool takes to drain the queue (database clock: start to last completion)."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=dsn,
        embedding_concurrent_workers=workers,
        embedding_batch_size=batch_size,
        embedding_worker_interval=1000,
        embedding_worker_timeout=60_000,
    )
    model = ModelRecord(model_id, "stub", "noop", 3)
    pool = await create_pool(dsn, min_size=workers + 2, max_size=workers + 4)
    try:
        started = await pool.fetchval("SELECT clock_timestamp()")
        shutdown = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(_stop_when_drained, pool, shutdown)
            await run_pool(settings, Database(pool=pool, dsn=dsn), StubProvider(), model, shutdown=shutdown)
        finished = await pool.fetchval("SELECT max(completed_at) FROM embedding_tasks")
        left = await pool.fetchval("SELECT count(*) FROM embedding_tasks WHERE status <> 'completed'")
        assert left == 0, f"{left} tasks not completed"
    finally:
        await pool.close()
    return float((finished - started).total_seconds())


# Whether any task is left: each status looked up in the order of its partial index, so the
# poll stays an index probe (a scan for the first live task would pass every task finished so
# far, a cost charged to the pool's server time that the bare loops do not pay).
LEFT_QUERY = """
SELECT (SELECT id FROM embedding_tasks WHERE status = 'pending' ORDER BY priority, scheduled_at, id LIMIT 1)
           IS NOT NULL
    OR (SELECT id FROM embedding_tasks WHERE status = 'processing' ORDER BY article_id, model_id LIMIT 1)
           IS NOT NULL
"""


async def _stop_when_drained(pool: asyncpg.Pool, shutdown: anyio.Event) -> None:
    while await pool.fetchval(LEFT_QUERY):  # noqa: ASYNC110 - the state is in the database: poll it
        await anyio.sleep(0.05)
    shutdown.set()


# -- pgqueuer ---------------------------------------------------------------------------------


async def prepare_pgqueuer(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await Queries(AsyncpgDriver(conn)).install()
    finally:
        await conn.close()


async def enqueue_pgqueuer(dsn: str, tasks: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        queries = Queries(AsyncpgDriver(conn))
        for start in range(0, tasks, 10_000):
            n = min(10_000, tasks - start)
            await queries.enqueue(["noop"] * n, [None] * n, [0] * n)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def run_pgqueuer(dsn: str, batch_size: int) -> float:
    """Seconds one queue manager in drain mode takes to empty the queue."""
    conn = await asyncpg.connect(dsn)
    try:
        manager = QueueManager(Queries(AsyncpgDriver(conn)))

        @manager.entrypoint("noop")
        async def noop(job: object) -> None:
            return None

        started = time.perf_counter()
        await manager.run(
            mode=QueueExecutionMode.drain,
            batch_size=batch_size,
            dequeue_timeout=timedelta(seconds=1),
            log_aggregation_interval=timedelta(0),
        )
        return time.perf_counter() - started
    finally:
        await conn.close()


# -- the bare loops ---------------------------------------------------------------------------

OWN_TABLE = (
    """
    WITH c AS (
        SELECT id FROM bare_tasks WHERE status = 'pending' ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
    )
    UPDATE bare_tasks t SET status = 'processing' FROM c WHERE t.id = c.id RETURNING t.id
    """,
    "UPDATE bare_tasks SET status = 'done' WHERE id = ANY($1::bigint[])",
)
TASK_TABLE = (
    """
    WITH c AS (
        SELECT id FROM embedding_tasks WHERE status = 'pending'
        ORDER BY priority, scheduled_at, id LIMIT $1 FOR UPDATE SKIP LOCKED
    )
    UPDATE embedding_tasks t
    SET status = 'processing', lease_owner = 'bare', lease_expires_at = now() + interval '1 minute'
    FROM c WHERE t.id = c.id RETURNING t.id
    """,
    """
    UPDATE embedding_tasks SET status = 'completed', lease_owner = NULL, lease_expires_at = NULL,
        completed_at = now()
    WHERE id = ANY($1::bigint[])
    """,
)


async def enqueue_bare(dsn: str, tasks: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "DROP TABLE IF EXISTS bare_tasks;"
            " CREATE TABLE bare_tasks"
            " (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, status text NOT NULL);"
            " CREATE INDEX bare_pending ON bare_tasks (id) WHERE status = 'pending'"
        )
        await conn.execute(
            "INSERT INTO bare_tasks (status) SELECT 'pending' FROM generate_series(1, $1)", tasks
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def run_bare(dsn: str, statements: tuple[str, str], workers: int, batch_size: int) -> float:
    """Seconds `workers` connections take to claim and complete every task."""
    claim, complete = statements

    async def loop() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            while ids := [r["id"] for r in await conn.fetch(claim, batch_size)]:
                await conn.execute(complete, ids)
        finally:
            await conn.close()

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(workers):
            tg.start_soon(loop)
    return time.perf_counter() - started


# -- the run ----------------------------------------------------------------------------------


async def measure(args: argparse.Namespace, admin_dsn: str) -> dict[str, float]:
    """Median tasks/s of every system and worker count, over interleaved rounds."""
    n, b = args.tasks, args.batch_size
    ours, pgq, bare = await empty_databases(admin_dsn, ("bench_ours", "bench_pgqueuer", "bench_bare"))
    model_id = await prepare_ours(ours, n)
    await prepare_pgqueuer(pgq)
    systems: dict[str, tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[float]]]] = {
        "pgqueuer": (lambda: enqueue_pgqueuer(pgq, n), lambda: run_pgqueuer(pgq, b))
    }
    for w in WORKER_COUNTS:
        systems[f"ours {w}"] = (
            lambda: enqueue_ours(ours, model_id),
            lambda w=w: run_ours(ours, model_id, w, b),
        )
        systems[f"own {w}"] = (lambda: enqueue_bare(bare, n), lambda w=w: run_bare(bare, OWN_TABLE, w, b))
        systems[f"task {w}"] = (
            lambda: enqueue_ours(ours, model_id),
            lambda w=w: run_bare(ours, TASK_TABLE, w, b),
        )
    rates: dict[str, list[float]] = defaultdict(list)
    for _ in range(args.repeat):
        for name, (prepare, run) in systems.items():
            await prepare()
            rates[name].append(n / await run())
    return {name: statistics.median(values) for name, values in rates.items()}


def report(args: argparse.Namespace, median: dict[str, float]) -> None:
    """The markdown table."""
    pgqueuer = median["pgqueuer"]
    print(
        f"{args.tasks} no-op tasks, batches of {args.batch_size}, median of {args.repeat} interleaved rounds,"
        f" one embedded PostgreSQL; pgqueuer (1 manager, drain mode): {pgqueuer:,.0f} tasks/s\n"
    )
    print(
        "| workers | article-mcp tasks/s | bare loop, task table | bare loop, own table"
        " | vs pgqueuer | vs bare (task table) | vs bare (own table) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for w in WORKER_COUNTS:
        ours, task, own = median[f"ours {w}"], median[f"task {w}"], median[f"own {w}"]
        print(
            f"| {w} | {ours:,.0f} | {task:,.0f} | {own:,.0f} | {ours / pgqueuer:.2f}× | {ours / task:.2f}×"
            f" | {ours / own:.2f}× |"
        )


async def main(args: argparse.Namespace) -> None:
    async with temporary_server("bench-queue-") as admin_dsn:
        median = await measure(args, admin_dsn)
    report(args, median)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    anyio.run(main, parser.parse_args())
