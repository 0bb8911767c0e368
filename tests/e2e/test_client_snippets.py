"""The HTTP client snippets run as they are shown, against a real server holding a token: the
README's Python SDK client and docs/clients.md's first request with curl."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import pytest

from tests.e2e.test_serve import TOKEN, http_server, server_env
from tests.support.docs import README, SHELLS, blocks
from tests.unit.test_client_snippets import HTTP_SECTION, URL

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def run_snippet(command: list[str], env: dict[str, str]) -> str:
    """Run a snippet with AUTH_TOKEN in its environment, as the docs tell the reader to."""
    with anyio.fail_after(120):
        done = await anyio.run_process(command, env={**env, "AUTH_TOKEN": TOKEN}, check=False)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


async def test_the_python_and_curl_snippets_reach_a_server_with_a_token(
    database_url: str, tmp_path: Path
) -> None:
    env = server_env(database_url, tmp_path, AUTH_TOKEN=TOKEN)
    (python,) = blocks(README.read_text(encoding="utf-8"), "python")
    (curl,) = blocks(HTTP_SECTION[1], *SHELLS)
    async with http_server(env) as server:
        printed = await run_snippet([sys.executable, "-c", python.replace(URL, server.url)], env)
        answered = await run_snippet(["bash", "-c", curl.replace(URL, server.url)], env)
    assert "total_articles" in printed
    (data,) = [line.removeprefix("data: ") for line in answered.splitlines() if line.startswith("data: ")]
    assert json.loads(data)["result"]["serverInfo"]["name"] == "article-mcp"
