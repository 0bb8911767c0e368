"""`article-mcp shares list|revoke` as an operator runs them: links by id and state, never
their tokens; a revoked link is dead; nothing to revoke is exit code 4."""

from __future__ import annotations

import json

import pytest

from article_mcp.access import shares
from article_mcp.access.tokens import hmac_key
from article_mcp.articles.service import ArticleService
from article_mcp.db.pool import Database
from tests.conftest import CliResult, cli_env, make_settings, run_cli

pytestmark = pytest.mark.anyio


async def cli(db: Database, *args: str) -> CliResult:
    return await run_cli("shares", *args, env=cli_env(DATABASE_URL=db.dsn))


async def test_list_and_revoke_share_links(db: Database) -> None:
    service = ArticleService(make_settings(db.dsn, semantic_search_enabled=False), db, None)
    await service.create("Notes", "n")
    await service.create("Other", "o")
    async with db.pool.acquire() as conn:
        key = await hmac_key(conn)
        first, token = await shares.create(conn, key, "notes", created_by="alice")
        await shares.create(conn, key, "notes", version=1)
        other, _ = await shares.create(conn, key, "other")

    listed = await cli(db, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [(link["slug"], link["state"]) for link in json.loads(listed.stdout)] == [
        ("other", "active"),
        ("notes", "active"),
        ("notes", "active"),
    ]
    table = await cli(db, "list", "--article", "notes")
    assert "alice" in table.stdout and "other" not in table.stdout and token not in table.stdout

    revoked = await cli(db, "revoke", str(first.id))
    assert revoked.returncode == 0, revoked.stderr
    async with db.pool.acquire() as conn:
        assert await shares.resolve(conn, key, token) is None
    again = await cli(db, "revoke", str(first.id))
    assert again.returncode == 4 and "no share link" in again.stderr

    assert (await cli(db, "revoke", "--article", "notes")).returncode == 0
    left = json.loads((await cli(db, "list", "--json")).stdout)
    assert [link["id"] for link in left] == [other.id]
    every = json.loads((await cli(db, "list", "--all", "--json")).stdout)
    assert {link["state"] for link in every} == {"active", "revoked"}
    assert (await cli(db, "revoke")).returncode == 2  # an id or --article is required
