"""What the benchmarks share: an embedded PostgreSQL in a temporary directory (removed with
its data afterwards, over a gigabyte after some runs), and empty databases on it."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import asyncpg

from article_mcp.db.embedded import EmbeddedServer


@asynccontextmanager
async def temporary_server(prefix: str) -> AsyncIterator[str]:
    """The admin DSN of an embedded server that lives as long as the block."""
    with tempfile.TemporaryDirectory(prefix=prefix, ignore_cleanup_errors=True) as data_dir:
        server = await anyio.to_thread.run_sync(EmbeddedServer.acquire, Path(data_dir))
        try:
            yield server.dsn
        finally:
            await anyio.to_thread.run_sync(server.release)


async def empty_databases(admin_dsn: str, names: Sequence[str]) -> list[str]:
    """New empty databases of these names on the server (replacing any); their DSNs."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        for name in names:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, query = admin_dsn.partition("?")
    root = base.rsplit("/", 1)[0]
    return [f"{root}/{name}?{query}" for name in names]
