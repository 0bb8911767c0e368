"""`article-mcp embeddings status|backfill` as an operator runs them, on articles written by
the article service while semantic search was off (the migration the deployment guide
describes): the backfill finds them, queues them once, and its rollback undoes it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from article_mcp.articles.service import ArticleService
from article_mcp.db.pool import Database
from tests.conftest import CliResult, cli_env, make_settings, run_cli

pytestmark = pytest.mark.anyio


async def embeddings(db: Database, *args: str, **env: str) -> CliResult:
    return await run_cli("embeddings", *args, env=cli_env(DATABASE_URL=db.dsn, **env))


async def embeddings_json(db: Database, *args: str) -> Any:
    result = await embeddings(db, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


async def write_articles(db: Database) -> None:
    """Four articles with chunks and one no_rag, written with no embedding model (no tasks)."""
    service = ArticleService(make_settings(db.dsn, semantic_search_enabled=False), db, None)
    for i in range(4):
        await service.create(f"Article {i}", f"# Part {i}\n\nSome text about topic {i}.\n")
    await service.create("Private", "Never embedded.", no_rag=True)


async def task_rows(db: Database) -> list[dict[str, Any]]:
    rows = await db.pool.fetch("SELECT article_id, status::text, priority::text, source FROM embedding_tasks")
    return [dict(r) for r in rows]


async def test_dry_run_counts_and_queues_nothing(db: Database) -> None:
    await write_articles(db)
    dry = await embeddings(db, "backfill", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "To queue" in dry.stdout and "dry run: nothing queued" in dry.stdout
    plan = (await embeddings_json(db, "backfill", "--dry-run"))["plan"]
    assert (plan["articles"], plan["no_rag"], plan["missing"], plan["queued"]) == (5, 1, 4, 0)
    assert await task_rows(db) == []


async def test_backfill_asks_then_queues_once_and_rolls_back(db: Database) -> None:
    await write_articles(db)
    refused = await embeddings(db, "backfill")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert await task_rows(db) == []

    done = await embeddings(db, "backfill", "--yes", "--priority", "high", "--batch-size", "3")
    assert done.returncode == 0, done.stderr
    match = re.search(r"queued 4 articles as backfill run (\S+)", done.stdout)
    assert match, done.stdout
    run_id = match.group(1)
    rows = await task_rows(db)
    assert len(rows) == 4 and {(r["status"], r["priority"], r["source"]) for r in rows} == {
        ("pending", "high", f"backfill:{run_id}")
    }
    again = await embeddings(db, "backfill", "--yes")
    assert again.returncode == 0 and "nothing to backfill" in again.stdout

    status = await embeddings_json(db, "status")
    assert status["active_model"] == "local/all-MiniLM-L6-v2" and status["plan"]["queued"] == 4
    assert [(r["run_id"], r["pending"]) for r in status["backfill_runs"]] == [(run_id, 4)]
    assert status["models"][0]["articles"] == 4 and status["models"][0]["articles_embedded"] == 0

    undone = await embeddings(db, "backfill", "rollback", "--run", run_id, "--yes")
    assert undone.returncode == 0 and f"cancelled 4 pending tasks of backfill run {run_id}" in undone.stdout
    assert {r["status"] for r in await task_rows(db)} == {"cancelled"}
    # Rolled back, the articles lack vectors again: a new backfill would queue them.
    assert (await embeddings_json(db, "backfill", "--dry-run"))["plan"]["missing"] == 4


async def test_status_before_any_model_is_registered(db: Database) -> None:
    status = await embeddings(db, "status")
    assert status.returncode == 0, status.stderr
    assert "not registered yet" in status.stdout


async def test_backfill_refuses_when_semantic_search_is_off(db: Database) -> None:
    off = await embeddings(db, "backfill", "--dry-run", SEMANTIC_SEARCH_ENABLED="false")
    assert off.returncode == 2 and "SEMANTIC_SEARCH_ENABLED" in off.stderr
