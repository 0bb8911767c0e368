"""Migrations against the real embedded PostgreSQL: round trip, concurrency, verify."""

from __future__ import annotations

import anyio
import asyncpg
import pytest

from article_mcp.db.migrate import load_migrations, migrate, migrate_to_latest, rollback
from article_mcp.db.verify import verify_schema
from tests.conftest import CliResult, cli_env, run_cli

pytestmark = pytest.mark.anyio

SCHEMA_QUERY = """
SELECT 'column' AS kind, table_name || '.' || column_name || ' ' || data_type || ' '
       || is_nullable || ' ' || coalesce(column_default, '') AS item
FROM information_schema.columns WHERE table_schema = 'public'
UNION ALL
SELECT 'index', indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
UNION ALL
SELECT 'constraint', conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL
SELECT 'type', typname FROM pg_type WHERE typnamespace = 'public'::regnamespace AND typtype = 'e'
ORDER BY 1, 2
"""


async def schema_of(dsn: str) -> list[tuple[str, str]]:
    conn = await asyncpg.connect(dsn)
    try:
        return [(r["kind"], r["item"]) for r in await conn.fetch(SCHEMA_QUERY)]
    finally:
        await conn.close()


async def test_migrate_builds_the_designed_schema(empty_database_url: str) -> None:
    applied = await migrate_to_latest(empty_database_url)
    assert [m.version for m in applied] == [m.version for m in load_migrations()]
    conn = await asyncpg.connect(empty_database_url)
    try:
        report = await verify_schema(conn)
        tables = {
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        }
    finally:
        await conn.close()
    assert report.ok, report.missing
    assert report.vector_version is not None
    assert {
        "articles",
        "article_chunks",
        "chunk_embeddings",
        "embedding_models",
        "embedding_tasks",
        "embedding_worker_status",
        "embedding_audit_logs",
        "performance_metrics",
    } <= tables


async def test_migrate_twice_applies_nothing_the_second_time(empty_database_url: str) -> None:
    await migrate_to_latest(empty_database_url)
    assert await migrate_to_latest(empty_database_url) == []


async def test_rollback_to_zero_then_migrate_returns_the_same_schema(empty_database_url: str) -> None:
    await migrate_to_latest(empty_database_url)
    before = await schema_of(empty_database_url)
    undone = await rollback(empty_database_url, target=0)
    assert len(undone) == len(load_migrations())
    left = [item for item in await schema_of(empty_database_url) if "schema_migrations" not in item[1]]
    assert left == []
    await migrate_to_latest(empty_database_url)
    assert await schema_of(empty_database_url) == before


async def test_each_migration_steps_down_and_up(empty_database_url: str) -> None:
    for migration in load_migrations():
        await migrate(empty_database_url, target=migration.version)
        at_version = await schema_of(empty_database_url)
        await rollback(empty_database_url, target=migration.version - 1)
        await migrate(empty_database_url, target=migration.version)
        assert await schema_of(empty_database_url) == at_version


async def test_concurrent_migrations_end_with_one_schema(empty_database_url: str) -> None:
    results: list[int] = []

    async def run_migrate() -> None:
        applied = await migrate_to_latest(empty_database_url)
        results.append(len(applied))

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(run_migrate)
    assert sorted(results) == [0, 0, 0, len(load_migrations())]
    conn = await asyncpg.connect(empty_database_url)
    try:
        assert (await verify_schema(conn)).ok
    finally:
        await conn.close()


async def test_two_migrate_processes_at_once(empty_database_url: str) -> None:
    env = cli_env(DATABASE_URL=empty_database_url)
    results: list[CliResult] = []

    async def migrate_process() -> None:
        results.append(await run_cli("db", "migrate", env=env))

    async with anyio.create_task_group() as tg:
        tg.start_soon(migrate_process)
        tg.start_soon(migrate_process)
    assert [r.returncode for r in results] == [0, 0], results
    stdout = "".join(r.stdout for r in results)
    assert stdout.count("applied 0001_schema") == 1
    assert "up to date" in stdout
    verify = await run_cli("db", "verify", env=env)
    assert verify.returncode == 0, verify.stderr


async def test_verify_lists_what_is_missing(empty_database_url: str) -> None:
    env = cli_env(DATABASE_URL=empty_database_url)
    before = await run_cli("db", "verify", env=env)
    assert before.returncode == 1
    assert "extension vector" in before.stderr and "table embedding_tasks" in before.stderr

    await migrate_to_latest(empty_database_url)
    conn = await asyncpg.connect(empty_database_url)
    try:
        await conn.execute("DROP INDEX embedding_tasks_claim_idx")
    finally:
        await conn.close()
    after = await run_cli("db", "verify", env=env)
    assert after.returncode == 1
    assert "index embedding_tasks_claim_idx" in after.stderr
    assert "table embedding_tasks" not in after.stderr


async def test_status_reports_applied_versions(empty_database_url: str) -> None:
    env = cli_env(DATABASE_URL=empty_database_url)
    await migrate_to_latest(empty_database_url)
    result = await run_cli("db", "status", "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert f'"current": {load_migrations()[-1].version}' in result.stdout


async def test_unreachable_database_is_exit_3_without_the_password() -> None:
    env = cli_env(DATABASE_URL="postgresql://app:hunter2@127.0.0.1:1/articles")
    result = await run_cli("db", "verify", env=env)
    assert result.returncode == 3
    assert "cannot reach the database" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


async def test_bad_setting_stops_with_one_line() -> None:
    env = cli_env(EMBEDDING_WORKER_INTERVAL="-1", DATABASE_URL="postgresql://x@127.0.0.1:1/x")
    result = await run_cli("db", "status", env=env)
    assert result.returncode == 2
    expected = "EMBEDDING_WORKER_INTERVAL: input should be greater than 0 (got '-1')"
    assert result.stderr.strip().splitlines() == [f"article-mcp: configuration error: {expected}"]
