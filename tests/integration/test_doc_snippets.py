"""The documentation stays true: every SQL block of the README and the docs pages runs against
the migrated schema, and every `article-mcp` command they show is one the command line
accepts."""

from __future__ import annotations

import shlex
from datetime import timedelta

import pytest

from article_mcp.cli.main import build_parser
from article_mcp.db.pool import Database
from tests.support.docs import page_blocks, page_commands
from tests.support.queue_states import add_article, add_model, add_task, add_worker, embed_article

SQL = page_blocks("sql")
COMMANDS = page_commands()


def test_the_docs_have_snippets_to_check() -> None:
    # The pages hold 14 SQL blocks and 43 distinct commands (the guide the README was before
    # the docs split held as many): fewer means blocks stopped being found or content was lost.
    assert len(SQL) >= 14
    assert len(COMMANDS) >= 40


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_shown_exists(command: str) -> None:
    args = build_parser().parse_args(shlex.split(command)[1:])
    assert callable(args.handler)


@pytest.mark.anyio
@pytest.mark.parametrize("sql", SQL, ids=lambda sql: sql.split("\n", 1)[0][:40])
async def test_every_sql_snippet_runs(db: Database, sql: str) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        article = await add_article(conn, "a", ["one", "two"])
        await embed_article(conn, article, model, limit=1)
        for status in ("pending", "processing", "completed", "failed", "cancelled"):
            await add_task(
                conn, article if status != "pending" else None, model, status, age=timedelta(hours=1)
            )
        await add_worker(conn, "w")
        await conn.execute(
            "INSERT INTO embedding_audit_logs (level, category, event, message)"
            " VALUES ('error', 'task', 'task_failed', 'HTTP 500')"
        )
        # Run for real, then undo, so snippets that change data are checked too.
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute(sql)
        finally:
            await transaction.rollback()
