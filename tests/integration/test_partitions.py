"""Queue partitions (`article-mcp worker --priority --folder`): a partitioned worker claims
only the tasks of its partition, through the claim index, and partitioned workers side by
side leave nothing of theirs behind; `queue status` counts pending work per partition."""

from __future__ import annotations

import asyncpg
import pytest

from article_mcp.config import Settings
from article_mcp.db.pool import Database
from article_mcp.queue import tasks as queue
from article_mcp.queue.admin import queue_status
from tests.support.fake_providers import FakeEmbeddingServer
from tests.support.queue_states import add_article, add_model, add_task, many_articles
from tests.support.queue_writes import write_article
from tests.support.worker_runs import (
    completed_by,
    queue_drained,
    running_pool,
    wait_until,
    worker_partitions,
    worker_settings,
)

pytestmark = pytest.mark.anyio

LEASE_MS = 60_000

# (slug, folder, priority) of a queue with every kind of task in it.
MIXED = [
    ("g-high", "guides", "high"),
    ("g-normal", "guides", "normal"),
    ("gp-low", "guides/python", "low"),
    ("gw-high", "guideswork", "high"),
    ("a-normal", "archive", "normal"),
    ("a-high", "archive/2020", "high"),
    ("root-low", "", "low"),
]


async def mixed_queue(conn: asyncpg.Connection) -> tuple[int, dict[str, int]]:
    """The MIXED tasks, pending; returns the model and each slug's task."""
    model = await add_model(conn)
    ids = {}
    for slug, folder, priority in MIXED:
        article = await add_article(conn, slug)
        await conn.execute("UPDATE articles SET folder = $2 WHERE id = $1", article, folder)
        ids[slug] = await add_task(conn, article, model, priority=priority)
    return model, ids


@pytest.mark.parametrize(
    ("partition", "taken"),
    [
        (queue.Partition(priorities=("high",)), {"g-high", "gw-high", "a-high"}),
        (queue.Partition(priorities=("normal", "low")), {"g-normal", "gp-low", "a-normal", "root-low"}),
        # A folder and everything below it, never a folder that only starts with its name.
        (queue.Partition(folder="guides"), {"g-high", "g-normal", "gp-low"}),
        (queue.Partition(priorities=("high",), folder="archive"), {"a-high"}),
        (queue.EVERYTHING, {slug for slug, _, _ in MIXED}),
    ],
)
async def test_a_partitioned_claim_takes_only_its_partition(
    db: Database, partition: queue.Partition, taken: set[str]
) -> None:
    async with db.pool.acquire() as conn:
        model, ids = await mixed_queue(conn)
        first = await queue.claim(conn, "w1", model, limit=2, lease_ms=LEASE_MS, partition=partition)
        rest = await queue.claim(conn, "w2", model, limit=100, lease_ms=LEASE_MS, partition=partition)
        again = await queue.claim(conn, "w3", model, limit=100, lease_ms=LEASE_MS, partition=partition)
    slug_of = {task: slug for slug, task in ids.items()}
    assert {slug_of[t.id] for t in first + rest} == taken
    assert again == []
    # Most urgent first (then oldest), within a partition as without one.
    priority = {slug: queue.PRIORITIES.index(p) for slug, _, p in MIXED}
    urgent = sorted(taken, key=lambda slug: (priority[slug], ids[slug]))[:2]
    assert {slug_of[t.id] for t in first} == set(urgent)


async def claim_plans(
    conn: asyncpg.Connection, model: int, priorities: list[str], folder: str | None
) -> list[str]:
    """The claim's plan for a partition: planned for its arguments, and the generic plan a
    worker's connection reuses (see reuse_plans)."""
    args = ("w1", model, [], [], [], [], 10, LEASE_MS, None, priorities, folder)
    custom = await conn.fetch("EXPLAIN " + queue.QUERIES["finish_and_claim"], *args)
    async with conn.transaction():
        await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        await conn.execute("PREPARE claim AS " + queue.QUERIES["finish_and_claim"])
        shown = "'{" + ",".join(priorities) + "}'"
        generic = await conn.fetch(
            f"EXPLAIN EXECUTE claim('w1', {model}, '{{}}', '{{}}', '{{}}', '{{}}', 10, {LEASE_MS}, NULL,"
            f" {shown}, {'NULL' if folder is None else repr(folder)})"
        )
        await conn.execute("DEALLOCATE claim")
    return ["\n".join(r[0] for r in rows) for rows in (custom, generic)]


async def test_a_partitioned_claim_walks_the_claim_index(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        ids = await many_articles(conn, 3000, ("guides", "archive", ""))
        for n, priority in enumerate(queue.PRIORITIES):
            await queue.enqueue(conn, ids[n::3], model, priority=priority, max_attempts=3)
        await conn.execute("ANALYZE")
        partitions = [(["low"], None), (["high", "normal"], "guides"), (list(queue.PRIORITIES), None)]
        plans = [
            (folder, plan)
            for priorities, folder in partitions
            for plan in await claim_plans(conn, model, priorities, folder)
        ]
    for folder, plan in plans:
        claim = plan[plan.index("CTE candidates") : plan.index("CTE claimed")]
        # The priorities are the index's condition: a worker of low priority does not read
        # past every urgent task to find its own, and the index gives the order (no sort).
        assert "Index Scan using embedding_tasks_claim_idx" in claim
        assert "Index Cond: ((priority = ANY" in claim
        assert "Sort" not in claim
        for table in ("embedding_tasks", "articles"):
            assert f"Seq Scan on {table}" not in plan
        if folder is not None:
            # The folder: a probe of the candidate's article.
            assert "Index Scan using articles_pkey" in claim


async def test_queue_status_counts_pending_work_per_partition(db: Database, settings: Settings) -> None:
    async with db.pool.acquire() as conn:
        await mixed_queue(conn)
        status = await queue_status(conn, settings)
    assert status.pending_by_priority.model_dump() == {"high": 3, "normal": 2, "low": 2}
    by_folder = {f.folder: f.tasks for f in status.pending_by_folder}
    assert by_folder == {"guides": 3, "archive": 2, "guideswork": 1, "": 1}
    assert [f.tasks for f in status.pending_by_folder] == sorted(by_folder.values(), reverse=True)


async def test_two_partitioned_workers_each_take_their_own_and_leave_nothing_behind(
    db: Database, database_url: str, fake_server: FakeEmbeddingServer
) -> None:
    settings = worker_settings(
        database_url, fake_server, embedding_concurrent_workers=2, embedding_batch_size=2
    )
    urgent = queue.Partition(priorities=("high",))
    archive = queue.Partition(folder="archive")
    async with running_pool(settings, db, partition=urgent) as model, db.pool.acquire() as conn:
        # The mixed queue written through the real enqueue, while the urgent worker runs.
        for n in range(24):
            folder, priority = ("archive", "guides", "archive/old")[n % 3], queue.PRIORITIES[n % 4 % 3]
            async with conn.transaction():
                article = await write_article(
                    conn, f"t{n}", f"Text {n} about {folder}.", model.id, priority=priority
                )
                await conn.execute("UPDATE articles SET folder = $2 WHERE id = $1", article, folder)
        async with running_pool(settings, db, partition=archive):
            mine = "(t.priority = 'high' OR a.folder = 'archive' OR starts_with(a.folder, 'archive/'))"
            await wait_until(lambda: _none_pending(conn, mine))
            # Nothing outside both partitions was taken.
            left = await conn.fetch("SELECT id FROM embedding_tasks t WHERE status <> 'completed'")
            assert {r["id"] for r in left} == set(await _task_ids(conn, f"NOT {mine}"))
        async with running_pool(settings, db):
            await wait_until(lambda: queue_drained(conn))
        rows = await conn.fetch(
            "SELECT t.id, t.priority::text AS priority, a.folder"
            " FROM embedding_tasks t JOIN articles a ON a.id = t.article_id"
        )
    # Read once every pool has stopped: the heartbeat writes the start events in bulk.
    async with db.pool.acquire() as conn:
        by_worker = await completed_by(conn)
        started = await worker_partitions(conn)
    assert len(rows) == 24 and left
    for row in rows:
        worker = by_worker[row["id"]]
        in_archive = row["folder"] == "archive" or row["folder"].startswith("archive/")
        if started[worker] == "worker started":
            # The unpartitioned worker, started last, found only what neither partition holds.
            assert row["priority"] != "high" and not in_archive
        elif started[worker].endswith("priority high"):
            assert row["priority"] == "high"
        else:
            assert started[worker].endswith("folder archive") and in_archive


async def _none_pending(conn: asyncpg.Connection, where: str) -> bool:
    return not await _task_ids(conn, f"t.status IN ('pending', 'processing') AND {where}")


async def _task_ids(conn: asyncpg.Connection, where: str) -> list[int]:
    """Tasks (t) whose article (a) meets `where`."""
    rows = await conn.fetch(
        f"SELECT t.id FROM embedding_tasks t JOIN articles a ON a.id = t.article_id WHERE {where}"
    )
    return [r["id"] for r in rows]
