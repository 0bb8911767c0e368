"""`article-mcp tokens create|list|revoke` as an operator runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import cli_env, run_cli

pytestmark = [pytest.mark.anyio]


async def test_create_list_revoke(database_url: str, tmp_path: Path) -> None:
    env = cli_env(DATABASE_URL=database_url, ARTICLE_MCP_DATA_DIR=tmp_path / "data")
    created = await run_cli("tokens", "create", "ci-bot", "--scope", "write", "--expires", "30d", env=env)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("amcp_") and "\n" not in token  # stdout is the token alone
    assert "ci-bot" in created.stderr and "only this once" in created.stderr

    again = await run_cli("tokens", "create", "ci-bot", "--scope", "read", env=env)
    assert (again.returncode, again.stderr.strip()) == (
        4,
        "article-mcp: conflict: name: a token named 'ci-bot' exists; revoke it first, or pick another name",
    )
    bad = await run_cli("tokens", "create", "x", "--scope", "read", "--expires", "soon", env=env)
    assert bad.returncode == 2 and "--expires: must be a number and a unit" in bad.stderr

    listed = await run_cli("tokens", "list", "--json", env=env)
    [row] = json.loads(listed.stdout)
    assert (row["name"], row["scope"], row["last_used_at"], row["revoked_at"]) == (
        "ci-bot",
        "write",
        None,
        None,
    )
    assert row["expires_at"] is not None
    table = await run_cli("tokens", "list", env=env)
    assert "ci-bot" in table.stdout
    assert token.removeprefix("amcp_") not in listed.stdout + table.stdout

    revoked = await run_cli("tokens", "revoke", "ci-bot", env=env)
    assert revoked.returncode == 0 and "revoked token 'ci-bot'" in revoked.stdout
    assert (await run_cli("tokens", "revoke", "ci-bot", env=env)).returncode == 4
    # The name is free again; the revoked token stays listed.
    assert (await run_cli("tokens", "create", "ci-bot", "--scope", "read", env=env)).returncode == 0
    rows = json.loads((await run_cli("tokens", "list", "--json", env=env)).stdout)
    assert [(r["name"], r["revoked_at"] is None) for r in rows] == [("ci-bot", True), ("ci-bot", False)]
