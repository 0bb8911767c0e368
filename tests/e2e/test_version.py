"""One version everywhere: `article-mcp --version`, the MCP server info, `/health`, the
package metadata and the changelog."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import httpx2
import pytest
from mcp import Client

from article_mcp import __version__
from tests.conftest import run_cli
from tests.e2e.test_serve import http_server, server_env
from tests.support.docs import ROOT

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def test_the_command_line_the_server_info_and_health_show_one_version(
    database_url: str, tmp_path: Path
) -> None:
    env = server_env(database_url, tmp_path)
    shown = await run_cli("--version", env=env)
    assert (shown.returncode, shown.stdout) == (0, f"article-mcp {__version__}\n")
    async with http_server(env) as server:
        async with httpx2.AsyncClient() as http:
            health = (await http.get(f"{server.base}/health")).json()
        async with Client(server.url) as client:
            info = client.server_info
    assert info is not None
    assert (info.name, info.version, health["version"]) == ("article-mcp", __version__, __version__)


def test_the_package_metadata_has_the_same_version() -> None:
    assert version("article-mcp") == __version__


def test_the_changelog_keeps_a_changelog_from_this_release_on() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    releases = re.findall(r"^## \[([^\]]+)\]", text, flags=re.M)
    assert releases[0] == "Unreleased"
    # Every release heading is a version no newer than the package's, newest first.
    numbered = [tuple(int(part) for part in release.split(".")) for release in releases[1:]]
    assert numbered == sorted(numbered, reverse=True)
    assert all(release <= tuple(int(part) for part in __version__.split(".")) for release in numbered)
