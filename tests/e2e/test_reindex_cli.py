"""`article-mcp db reindex` as an operator runs it after changing CHUNK_SIZE: the dry run
counts, the real run asks first (or takes --yes), rebuilds and queues the changed articles."""

from __future__ import annotations

import json

import pytest

from article_mcp.db.pool import Database
from tests.conftest import CliResult, cli_env, make_settings, run_cli
from tests.support.reindex_corpus import write_corpus

pytestmark = pytest.mark.anyio


async def reindex(db: Database, *args: str) -> CliResult:
    env = cli_env(DATABASE_URL=db.dsn, CHUNK_SIZE="64", CHUNK_OVERLAP="8")
    return await run_cli("db", "reindex", *args, env=env)


async def test_reindex_counts_asks_then_rebuilds(db: Database) -> None:
    ids = await write_corpus(db, make_settings(db.dsn))

    dry = await reindex(db, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "dry run" in dry.stdout and "Passages changed" in dry.stdout
    refused = await reindex(db)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert await db.pool.fetchval("SELECT count(*) FROM embedding_tasks") == 0

    done = await reindex(db, "--yes", "--json", "--batch-size", "2")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["articles"], result["rechunked"], result["queued"]) == (3, 1, 1)
    queued = await db.pool.fetch("SELECT article_id, source FROM embedding_tasks")
    assert [tuple(row) for row in queued] == [(ids["long"], "reindex")]

    again = await reindex(db, "--yes", "--json")
    assert again.returncode == 0, again.stderr
    assert (json.loads(again.stdout)["rechunked"], json.loads(again.stdout)["queued"]) == (0, 0)
