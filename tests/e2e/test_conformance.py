"""The official MCP conformance suite (`@modelcontextprotocol/conformance`) against
`article-mcp serve --transport http`: every scenario that applies to this server.

The suite's other scenarios call the fixtures of its reference server (tools such as
`test_image_content`, resources such as `test://static-text`), which this server does not
have, by design."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from tests.e2e.test_serve import http_server, server_env

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

SCENARIOS = [
    "server-initialize",
    "ping",
    "logging-set-level",
    "tools-list",
    "tools-call-error",
    "resources-list",
    "prompts-list",
    "server-sse-multiple-streams",
    "dns-rebinding-protection",
]


async def test_conformance_scenarios(node: str, node_dir: Path, database_url: str, tmp_path: Path) -> None:
    suite = node_dir / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
    async with http_server(server_env(database_url, tmp_path)) as server:
        for scenario in SCENARIOS:
            command = [node, str(suite), "server", "--url", server.url, "--scenario", scenario]
            with anyio.fail_after(120):
                done = await anyio.run_process(command, check=False, cwd=tmp_path)
            report = done.stdout.decode()
            assert done.returncode == 0 and "0 failed" in report, (
                f"{scenario}:\n{report}\n{done.stderr.decode()}"
            )
