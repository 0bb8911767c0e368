"""`article-mcp articles prune-history` as an operator runs it: the dry run counts and changes
nothing, the real run asks first (or takes --yes) and keeps each article's newest versions."""

from __future__ import annotations

import json

import pytest

from article_mcp.articles.service import ArticleService
from article_mcp.db.pool import Database
from tests.conftest import CliResult, cli_env, make_settings, run_cli

pytestmark = pytest.mark.anyio


async def prune(db: Database, *args: str, **settings: str) -> CliResult:
    return await run_cli("articles", "prune-history", *args, env=cli_env(DATABASE_URL=db.dsn, **settings))


async def versions(db: Database) -> list[tuple[int, int]]:
    rows = await db.pool.fetch("SELECT article_id, version FROM article_versions ORDER BY 1, 2")
    return [(row["article_id"], row["version"]) for row in rows]


async def test_prune_history_counts_asks_then_prunes(db: Database) -> None:
    service = ArticleService(make_settings(db.dsn, semantic_search_enabled=False), db, None)
    await service.create("Notes", "v1")
    for n in range(2, 6):
        await service.update("notes", content=f"v{n}")
    await service.create("Gone", "g1")
    await service.delete("gone")
    before = await versions(db)

    dry = await prune(db, "--keep", "2", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would remove" in dry.stdout and "dry run: nothing was removed" in dry.stdout
    assert await versions(db) == before
    refused = await prune(db, "--keep", "2")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert await versions(db) == before
    unset = await prune(db, "--dry-run")
    assert unset.returncode == 2 and "ARTICLE_HISTORY_MAX_VERSIONS is 0" in unset.stderr

    done = await prune(db, "--yes", "--json", ARTICLE_HISTORY_MAX_VERSIONS="2")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["keep"], report["articles"], report["versions"], report["kept"]) == (2, 1, 3, 4)
    notes, gone = sorted({article for article, _ in before})
    assert await versions(db) == [(notes, 4), (notes, 5), (gone, 1), (gone, 2)]
    assert (await service.restore("gone", 1)).version == 3  # the deletion was kept
