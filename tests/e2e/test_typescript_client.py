"""An MCP client written by someone else: the official TypeScript SDK (tests/e2e/node) lists
the tools and takes an article through create, read, update, list, search and delete over
stdio, streamable HTTP and SSE. The test installs the SDK itself (npm ci) when missing."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.e2e.test_serve import TOKEN, http_server, server_env
from tests.support.mcp_calls import TOOLS

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


@pytest.fixture
def node_client(node: str, node_dir: Path) -> list[str]:
    """The command that runs the TypeScript client."""
    return [node, str(node_dir / "client.mjs")]


async def run_client(command: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    with anyio.fail_after(180):
        done = await anyio.run_process(command, env=env, check=False)
    assert done.returncode == 0, done.stderr.decode()
    seen: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return seen


def check_article_life(seen: dict[str, Any], kind: str) -> None:
    assert seen["server"]["name"] == "article-mcp"
    assert {tool["name"] for tool in seen["tools"]} == TOOLS
    assert all(tool["hasOutputSchema"] for tool in seen["tools"])
    hints = {tool["name"]: tool["annotations"] for tool in seen["tools"]}
    assert hints["get_article"]["readOnlyHint"] is True
    assert hints["delete_article"]["destructiveHint"] is True

    slug = f"typescript-client-{kind}-überblick"
    assert seen["created"]["slug"] == slug
    assert seen["read"]["content"].startswith("# Intro")
    assert seen["updated"]["version"] == 2
    assert [a["slug"] for a in seen["listed"]["articles"]] == [slug]
    assert [m["slug"] for m in seen["searched"]["results"]] == [slug]
    assert seen["badInput"]["isError"] is True and "title" in seen["badInput"]["text"]
    assert seen["resources"] == ["article://typescript-client-" + kind + "-%C3%BCberblick"]
    assert "narwhals" in seen["resourceText"]
    assert seen["deleted"]["slug"] == slug
    assert seen["afterDelete"]["isError"] is True and "not found" in seen["afterDelete"]["text"]


async def test_typescript_client_over_stdio(
    node_client: list[str], database_url: str, tmp_path: Path
) -> None:
    env = server_env(database_url, tmp_path)
    seen = await run_client([*node_client, "stdio", sys.executable, "-m", "article_mcp", "serve"], env=env)
    check_article_life(seen, "stdio")


@pytest.mark.parametrize(("kind", "path"), [("http", "/mcp"), ("sse", "/sse")])
async def test_typescript_client_over_http(
    node_client: list[str], database_url: str, tmp_path: Path, kind: str, path: str
) -> None:
    env = server_env(database_url, tmp_path, AUTH_TOKEN=TOKEN)
    async with http_server(env) as server:
        seen = await run_client([*node_client, kind, server.base + path, TOKEN])
    check_article_life(seen, kind)
