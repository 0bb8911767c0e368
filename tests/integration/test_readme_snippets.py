"""The README stays true: every SQL snippet runs against the migrated schema, and every
`article-mcp` command it shows is one the command line accepts."""

from __future__ import annotations

import re
import shlex
from datetime import timedelta
from pathlib import Path

import pytest

from article_mcp.cli.main import build_parser
from article_mcp.db.pool import Database
from tests.support.queue_states import add_article, add_model, add_task, add_worker, embed_article

DOC = Path(__file__).resolve().parents[2] / "README.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)


def commands() -> list[str]:
    found = []
    for block in blocks("bash"):
        for line in block.splitlines():
            start = line.find("article-mcp ")
            if start >= 0 and not line.lstrip().startswith("#"):
                command = line[start:].split("#", 1)[0].split("|", 1)[0].split(" 2>", 1)[0]
                found.append(command.strip())
    return found


def test_the_doc_has_snippets_to_check() -> None:
    assert len(blocks("sql")) >= 10
    assert len(commands()) >= 40


@pytest.mark.parametrize("command", sorted(set(commands())))
def test_every_command_shown_exists(command: str) -> None:
    args = build_parser().parse_args(shlex.split(command)[1:])
    assert callable(args.handler)


@pytest.mark.anyio
@pytest.mark.parametrize("sql", blocks("sql"), ids=lambda sql: sql.split("\n", 1)[0][:40])
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
