"""The embedded server outlives what kills it: a postmaster that dies is started again, a smart
shutdown is not held up by our idle connections, and a process killed with SIGKILL does not
keep the server running after every live process has left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from article_mcp.db.embedded import EmbeddedServer
from article_mcp.db.pool import Database, connect, open_database, pooled_connection
from article_mcp.db.supervisor import HANDLE_FILE, pid_alive
from article_mcp.errors import DatabaseUnavailableError
from tests.conftest import ARTICLE_MCP, cli_env, make_settings

pytestmark = pytest.mark.slow

LIMIT = 60.0


def postmaster_pid(pgdata: Path) -> int | None:
    """The PID in postmaster.pid, None when there is no file."""
    pid_file = pgdata / "postmaster.pid"
    return int(pid_file.read_text().split("\n", 1)[0]) if pid_file.exists() else None


async def answers(db: Database) -> bool:
    try:
        async with pooled_connection(db) as conn:
            return bool(await conn.fetchval("SELECT 1"))
    except DatabaseUnavailableError:
        return False


async def until(check: object, *, limit: float = LIMIT) -> None:
    """Poll an async predicate until it holds, within `limit` seconds."""
    with anyio.fail_after(limit):
        while not await check():  # type: ignore[operator]  # noqa: ASYNC110 - an outside process's state
            await anyio.sleep(0.1)


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[tuple[Database, Path]]:
    settings = make_settings(article_mcp_data_dir=tmp_path / "data")
    async with open_database(settings, migrate=True) as db:
        yield db, tmp_path / "data" / "pg18"


@pytest.mark.anyio
async def test_a_killed_postmaster_is_started_again_and_writes_resume(
    database: tuple[Database, Path],
) -> None:
    db, pgdata = database
    assert await answers(db)
    killed = postmaster_pid(pgdata)
    assert killed is not None
    os.kill(killed, signal.SIGKILL)
    await until(lambda: anyio.to_thread.run_sync(lambda: not pid_alive(killed)))
    # Meanwhile a write fails fast, naming the cause, instead of hanging.
    with anyio.fail_after(10), pytest.raises(DatabaseUnavailableError):
        async with pooled_connection(db, transaction=True) as conn:
            await conn.execute("CREATE TABLE during_the_outage (id int)")
    await until(lambda: answers(db))
    assert postmaster_pid(pgdata) not in (None, killed)
    async with pooled_connection(db, transaction=True) as conn:
        await conn.execute("CREATE TABLE after_the_restart (id int)")
        assert await conn.fetchval("SELECT count(*) FROM article_chunks") == 0


@pytest.mark.anyio
async def test_a_smart_shutdown_is_not_held_up_by_idle_connections(database: tuple[Database, Path]) -> None:
    db, pgdata = database
    assert await answers(db)  # the pool holds an idle connection now
    listener = await connect(db.dsn)  # and a connection of its own, as the LISTEN one is
    await listener.add_listener("embedding_tasks", lambda *_: None)
    stopping = postmaster_pid(pgdata)
    assert stopping is not None
    # SIGTERM is PostgreSQL's smart shutdown: it waits for every session to end.
    os.kill(stopping, signal.SIGTERM)
    await until(lambda: anyio.to_thread.run_sync(lambda: not pid_alive(stopping)))
    assert listener.is_closed()
    # And the server is started again for the process still using it.
    await until(lambda: answers(db))


def test_the_last_live_process_stops_the_server_despite_a_killed_one(tmp_path: Path) -> None:
    data = tmp_path / "data"
    pgdata = data / "pg18"
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, pathlib\n"
            "from article_mcp.db.embedded import EmbeddedServer\n"
            "EmbeddedServer.acquire(pathlib.Path(sys.argv[1]))\n"
            "print('ready', flush=True)\n"
            "sys.stdin.read()\n",
            str(data),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None
        # (Unconfigured, structlog writes its lines to stdout too.)
        while (line := holder.stdout.readline()) and line.strip() != "ready":
            pass
        assert line.strip() == "ready"
        holder.kill()
        holder.wait(timeout=30)
    assert holder.pid in json.loads((pgdata / HANDLE_FILE).read_text())
    assert postmaster_pid(pgdata) is not None  # the killed process never let the server go
    env = cli_env(ARTICLE_MCP_DATA_DIR=data)
    done = subprocess.run(
        [*ARTICLE_MCP, "db", "migrate"], env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    # The migrate process pruned the dead PID, so it was the last one and stopped the server.
    assert not (pgdata / "postmaster.pid").exists()
    assert holder.pid not in json.loads((pgdata / HANDLE_FILE).read_text() or "[]")


def test_the_server_in_the_handle_registry_is_one_per_data_dir(tmp_path: Path) -> None:
    first = EmbeddedServer.acquire(tmp_path / "data")
    try:
        second = EmbeddedServer.acquire(tmp_path / "data")
        assert second is first and first.supervisor.is_alive()
        second.release()
        assert first.supervisor.is_alive()
    finally:
        first.release()
    assert not first.supervisor.is_alive()
