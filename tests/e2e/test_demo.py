"""`article-mcp demo` end to end: it starts `article-mcp serve` over stdio, writes the sample
articles, waits for the local model to embed them, and each search by meaning finds the
article it is about although they share no words."""

from __future__ import annotations

import re

import pytest

from article_mcp.cli.demo import FOLDER, QUERIES, SAMPLES
from article_mcp.db.pool import Database
from tests.conftest import cli_env, run_cli

pytestmark = pytest.mark.anyio

EXPECTED = dict(zip(QUERIES, [SAMPLES[1][0], SAMPLES[2][0], SAMPLES[4][0], SAMPLES[3][0]], strict=True))


def best_match(stdout: str, query: str) -> str:
    """The article in the first result row under the query's table."""
    section = stdout.split(f"semantic_search: {query!r}", 1)[1]
    row = next(line for line in section.splitlines() if re.match(r"^│ \d\.\d{3} ", line))
    return row.split("│")[2].strip()


@pytest.mark.slow
async def test_demo_writes_embeds_and_finds_by_meaning(db: Database) -> None:
    # The local model on a loaded machine may take longer than the default 10 s to embed a
    # query; what is tested here is what the demo finds, not how fast.
    env = cli_env(DATABASE_URL=db.dsn, COLUMNS="200", SEARCH_EMBED_TIMEOUT="120000")
    first = await run_cli("demo", "--keep", env=env, limit=600)
    assert first.returncode == 0, first.stderr[-3000:]
    assert f"all {len(SAMPLES)} articles embedded" in first.stdout
    for query, title in EXPECTED.items():
        assert best_match(first.stdout, query) == title
    kept = await db.pool.fetch("SELECT title FROM articles WHERE folder = $1", FOLDER)
    assert sorted(r["title"] for r in kept) == sorted(title for title, _ in SAMPLES)

    # Run again: the kept articles are replaced, their texts are not embedded twice, and
    # without --keep the demo leaves nothing behind.
    second = await run_cli("demo", env=env, limit=600)
    assert second.returncode == 0, second.stderr[-3000:]
    assert second.stdout.count("embedding ready") == len(SAMPLES)
    assert await db.pool.fetchval("SELECT count(*) FROM articles") == 0


async def test_a_server_that_cannot_start_is_a_clear_error() -> None:
    env = cli_env(DATABASE_URL="postgresql://nobody:secret@127.0.0.1:9/nothing")
    result = await run_cli("demo", env=env)
    assert result.returncode == 3
    assert "cannot reach the database" in result.stderr and "secret" not in result.stderr
    assert "Traceback" not in result.stderr
