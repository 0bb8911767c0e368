"""DATABASE_POOL_MODE: what transaction mode changes in connections (no statement cache, no
session state), where LISTEN goes, and migrations that take turns under a transaction-level
lock. Against the embedded server directly; tests/e2e/test_pgbouncer.py puts PgBouncer between."""

from __future__ import annotations

from pathlib import Path

import anyio
import asyncpg
import pytest

from article_mcp.db.migrate import load_migrations, migrate_to_latest
from article_mcp.db.pool import migration_address, open_database
from article_mcp.db.verify import verify_schema
from tests.conftest import make_settings

pytestmark = pytest.mark.anyio

DIRECT = "postgresql://app@db.internal:5432/articles"


async def prepared_after_queries(database_url: str, tmp_path: Path, mode: str) -> tuple[int, str | None]:
    """Server-side prepared statements left on a pooled connection after a few queries, and
    where the database listens."""
    settings = make_settings(database_url, database_pool_mode=mode, article_mcp_data_dir=tmp_path)
    async with open_database(settings) as db, db.pool.acquire() as conn:
        for n in range(3):
            assert await conn.fetchval("SELECT $1::int + 1", n) == n + 1
        prepared: int = await conn.fetchval("SELECT count(*) FROM pg_prepared_statements")
        return prepared, db.listen_dsn


async def test_transaction_mode_keeps_nothing_on_the_server_connection(
    database_url: str, tmp_path: Path
) -> None:
    prepared, listen = await prepared_after_queries(database_url, tmp_path, "session")
    assert prepared > 0 and listen == database_url
    # No named statement outlives its exchange, and without a direct URL nothing listens.
    assert await prepared_after_queries(database_url, tmp_path, "transaction") == (0, None)


async def test_the_direct_url_is_used_only_in_transaction_mode(database_url: str, tmp_path: Path) -> None:
    pooled = make_settings(database_url, database_pool_mode="transaction", database_direct_url=DIRECT)
    assert migration_address(pooled, database_url) == (DIRECT, "session")
    session = make_settings(database_url, database_direct_url=DIRECT)
    assert migration_address(session, database_url) == (database_url, "session")
    alone = make_settings(database_url, database_pool_mode="transaction")
    assert migration_address(alone, database_url) == (database_url, "transaction")
    settings = make_settings(
        database_url,
        database_pool_mode="transaction",
        database_direct_url=database_url,
        article_mcp_data_dir=tmp_path,
    )
    async with open_database(settings) as db:
        assert db.mode == "transaction" and db.listen_dsn == database_url


async def test_migrations_in_transaction_mode_take_turns_and_apply_each_file_once(
    empty_database_url: str,
) -> None:
    applied: list[int] = []

    async def run() -> None:
        applied.extend(m.version for m in await migrate_to_latest(empty_database_url, mode="transaction"))

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(run)
    assert sorted(applied) == [m.version for m in load_migrations()]
    conn = await asyncpg.connect(empty_database_url)
    try:
        assert (await verify_schema(conn)).ok
    finally:
        await conn.close()
