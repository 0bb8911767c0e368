"""Behind PgBouncer in transaction mode (DATABASE_POOL_MODE=transaction, no direct URL): the
MCP server's writes and search, an `article-mcp worker` draining the queue by polling, and
the operator's commands, with PgBouncer lending few server connections to many clients.

A missing pgbouncer skips this test on a workstation and fails it on CI (`.ci/run` sets CI).
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import anyio
import asyncpg
import pytest
from mcp import Client

from article_mcp.server.app import create_server
from article_mcp.server.runtime import open_runtime
from tests.conftest import ARTICLE_MCP, cli_env, make_settings, run_cli, with_database
from tests.support.fake_providers import FakeEmbeddingServer
from tests.support.mcp_calls import call
from tests.support.pgbouncer import running_pgbouncer

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


def text(n: int) -> str:
    return f"# Pooled article {n}\n\nA passage about pooled connections number {n} and topic {n % 3}."


async def test_the_server_workers_and_operator_commands_work_behind_pgbouncer(
    database_url: str, pgbouncer: str, fake_server: FakeEmbeddingServer, tmp_path: Path
) -> None:
    pooled = with_database(pgbouncer, urlsplit(database_url).path.lstrip("/"))
    provider = fake_server.settings("ollama", embedding_model="nomic-embed-text")
    env = cli_env(
        DATABASE_URL=pooled,
        DATABASE_POOL_MODE="transaction",
        EMBEDDING_WORKER_INTERVAL="200",
        **{name.upper(): str(value) for name, value in provider.items()},
    )
    # Migrations through the pooler: a transaction-level lock per file.
    migrated = await run_cli("db", "migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    assert "up to date" in migrated.stdout
    verified = await run_cli("db", "verify", env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr[-3000:]

    settings = make_settings(
        pooled,
        database_pool_mode="transaction",
        embedding_concurrent_workers=0,
        article_mcp_data_dir=tmp_path / "data",
        **provider,
    )
    async with open_runtime(settings) as runtime, Client(create_server(runtime.services)) as client:
        # Writes from many pooled connections at once, on three server connections.
        async with anyio.create_task_group() as writers:
            for n in range(ARTICLES):
                create = partial(call, client, "create_article", title=f"Pooled article {n}", content=text(n))
                writers.start_soon(create)
        edited = await call(client, "update_article", slug="pooled-article-0", content=text(100))
        assert edited["version"] == 2

        log = tmp_path / "worker.log"
        with log.open("wb") as output:
            command = [*ARTICLE_MCP, "worker", "--workers", "2"]
            worker = await anyio.open_process(command, env=env, stderr=output)
            try:
                await _drained(runtime.db.pool)
                status = await run_cli("queue", "status", "--json", env=env)
                assert status.returncode == 0, status.stderr[-3000:]
                report = json.loads(status.stdout)
                assert report["state"] == "running" and report["counts"]["pending"] == 0
                assert report["counts"]["completed"] >= ARTICLES
                health = await run_cli("queue", "health", env=env)
                assert health.returncode == 0, health.stdout + health.stderr[-3000:]
            finally:
                worker.send_signal(signal.SIGTERM)
                with anyio.fail_after(60):
                    await worker.wait()
        logged = log.read_text(encoding="utf-8")
        assert worker.returncode == 0, logged[-3000:]
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
