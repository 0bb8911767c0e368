"""Behind PgBouncer in transaction mode (DATABASE_POOL_MODE=transaction), with PgBouncer
lending few server connections to many clients: without a direct URL, the MCP server's
writes and search, an `article-mcp worker` draining the queue by polling, and the operator's
commands; with DATABASE_DIRECT_URL, two partitioned workers woken by notifications.

A missing pgbouncer skips this test on a workstation and fails it on CI (`.ci/run` sets CI).
"""

from __future__ import annotations

import json
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import anyio
import asyncpg
import pytest
from mcp import Client

from article_mcp.config import Settings
from article_mcp.server.app import create_server
from article_mcp.server.runtime import open_runtime
from tests.conftest import ARTICLE_MCP, cli_env, make_settings, run_cli, with_database
from tests.support.fake_providers import FakeEmbeddingServer
from tests.support.mcp_calls import call
from tests.support.pgbouncer import running_pgbouncer
from tests.support.worker_runs import completed_by, worker_partitions

pytestmark = pytest.mark.anyio

ARTICLES = 12
DRAIN_LIMIT = 180.0


@pytest.fixture(scope="module")
def pgbouncer(pg_server: str) -> Iterator[str]:
    """The address of PgBouncer in front of the session's embedded server (any database)."""
    parts = urlsplit(pg_server)
    socket_dir = Path(parse_qs(parts.query)["host"][0])
    user = parts.username or "postgres"
    with running_pgbouncer(socket_dir, user) as port:
        yield f"postgresql://{user}@127.0.0.1:{port}/postgres"


def behind_pgbouncer(
    database_url: str, pgbouncer: str, server: FakeEmbeddingServer, tmp_path: Path, **overrides: object
) -> tuple[Settings, dict[str, str]]:
    """The settings of this process and the environment of `article-mcp` subprocesses, alike:
    the test's database through PgBouncer in transaction mode, the fake provider; this
    process runs no worker."""
    values = server.settings("ollama", embedding_model="nomic-embed-text", database_pool_mode="transaction")
    values.update(overrides)
    pooled = with_database(pgbouncer, urlsplit(database_url).path.lstrip("/"))
    env = cli_env(DATABASE_URL=pooled, **{name.upper(): str(value) for name, value in values.items()})
    data = tmp_path / "data"
    settings = make_settings(pooled, **values, embedding_concurrent_workers=0, article_mcp_data_dir=data)
    return settings, env


@asynccontextmanager
async def worker_process(env: dict[str, str], log: Path, *flags: str) -> AsyncIterator[None]:
    """`article-mcp worker FLAGS` for the block, its log in `log`; stopped with SIGTERM, and
    checked to have stopped cleanly."""
    with log.open("wb") as output:
        worker = await anyio.open_process([*ARTICLE_MCP, "worker", *flags], env=env, stderr=output)
        try:
            yield
        finally:
            worker.send_signal(signal.SIGTERM)
            with anyio.fail_after(60):
                await worker.wait()
    assert worker.returncode == 0, f"the worker exited with {worker.returncode}: see {log}"


def text(n: int) -> str:
    return f"# Pooled article {n}\n\nA passage about pooled connections number {n} and topic {n % 3}."


async def test_the_server_workers_and_operator_commands_work_behind_pgbouncer(
    database_url: str, pgbouncer: str, fake_server: FakeEmbeddingServer, tmp_path: Path
) -> None:
    interval = {"embedding_worker_interval": 200}
    settings, env = behind_pgbouncer(database_url, pgbouncer, fake_server, tmp_path, **interval)
    # Migrations through the pooler: a transaction-level lock per file.
    migrated = await run_cli("db", "migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    assert "up to date" in migrated.stdout
    verified = await run_cli("db", "verify", env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr[-3000:]

    async with open_runtime(settings) as runtime, Client(create_server(runtime.services)) as client:
        # Writes from many pooled connections at once, on three server connections.
        async with anyio.create_task_group() as writers:
            for n in range(ARTICLES):
                create = partial(call, client, "create_article", title=f"Pooled article {n}", content=text(n))
                writers.start_soon(create)
        edited = await call(client, "update_article", slug="pooled-article-0", content=text(100))
        assert edited["version"] == 2

        log = tmp_path / "worker.log"
        async with worker_process(env, log, "--workers", "2"):
            await _drained(runtime.db.pool)
            status = await run_cli("queue", "status", "--json", env=env)
            assert status.returncode == 0, status.stderr[-3000:]
            report = json.loads(status.stdout)
            assert report["state"] == "running" and report["counts"]["pending"] == 0
            assert report["counts"]["completed"] >= ARTICLES
            health = await run_cli("queue", "health", env=env)
            assert health.returncode == 0, health.stdout + health.stderr[-3000:]
        logged = log.read_text(encoding="utf-8")
        # No LISTEN behind the pooler: the worker said it polls, and at what interval.
        assert "workers_polling" in logged and "interval_ms=200" in logged

        # Search through the pooler: its settings are local to its transactions.
        found = await call(client, "semantic_search", query=text(5), mode="semantic", k=3)
        assert found["searched"] == ["semantic"] and not found["fallback"]
        assert len(found["results"]) == 3
        for n in range(ARTICLES):
            article = await call(client, "get_article", slug=f"pooled-article-{n}")
            assert article["embedding_status"] == "ready"


async def _drained(pool: asyncpg.Pool) -> None:
    """Wait until no task is pending or processing (through the pooler, as everything here)."""
    with anyio.fail_after(DRAIN_LIMIT):
        while await pool.fetchval(  # noqa: ASYNC110 - the state is in the database: poll it
            "SELECT count(*) FROM embedding_tasks WHERE status IN ('pending', 'processing')"
        ):
            await anyio.sleep(0.1)


async def test_partitioned_workers_behind_pgbouncer_are_woken_through_the_direct_url(
    database_url: str, pgbouncer: str, fake_server: FakeEmbeddingServer, tmp_path: Path
) -> None:
    # Polling so slow that only a notification (LISTEN on the direct URL) wakes a worker in time.
    settings, env = behind_pgbouncer(
        database_url,
        pgbouncer,
        fake_server,
        tmp_path,
        database_direct_url=database_url,
        embedding_worker_interval=600_000,
    )
    async with open_runtime(settings) as runtime, Client(create_server(runtime.services)) as client:
        pool = runtime.db.pool
        for n in range(ARTICLES):
            await call(client, "create_article", title=f"Pooled article {n}", content=text(n))
        await pool.execute("UPDATE embedding_tasks SET priority = 'high' WHERE article_id % 2 = 0")
        urgent, rest = tmp_path / "urgent.log", tmp_path / "rest.log"
        async with (
            worker_process(env, urgent, "--priority", "high"),
            worker_process(env, rest, "--priority", "normal,low"),
        ):
            await _drained(pool)
            # Written while both sleep for ten minutes: a notification wakes them.
            await call(client, "create_article", title="Pooled article late", content=text(99))
            await _drained(pool)
        tasks = await pool.fetch("SELECT id, priority::text AS priority FROM embedding_tasks")
        by_worker, started = await completed_by(pool), await worker_partitions(pool)
    for log in (urgent, rest):
        assert "workers_polling" not in log.read_text(encoding="utf-8")
    assert len(tasks) == ARTICLES + 1
    for task in tasks:
        taking = started[by_worker[task["id"]]]
        assert taking.endswith("priority high" if task["priority"] == "high" else "priority normal,low")
