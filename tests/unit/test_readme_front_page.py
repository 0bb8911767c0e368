"""The README stays a front page: short, with client snippets that are valid JSON and start
a command the CLI accepts, with the scripts it names, and with links that reach their pages."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from article_mcp.cli.main import build_parser
from tests.support.docs import README, ROOT, SHELLS, blocks

TEXT = README.read_text(encoding="utf-8")


def section(heading: str) -> str:
    """The README's text under the `### heading`, up to the next heading."""
    match = re.search(rf"^### {re.escape(heading)}\n(.*?)(?=^#)", TEXT, flags=re.M | re.S)
    assert match, f"the README has no section '### {heading}'"
    return match[1]


def client_config(heading: str) -> dict[str, Any]:
    (config,) = blocks(section(heading), "json")
    parsed: dict[str, Any] = json.loads(config)
    return parsed


SNIPPETS = [json.loads(block) for block in blocks(TEXT, "json")]
SERVERS = [server for snippet in SNIPPETS for group in snippet.values() for server in group.values()]


def test_the_front_page_is_at_most_200_lines() -> None:
    assert len(TEXT.splitlines()) <= 200


def test_there_is_a_snippet_for_each_client() -> None:
    assert len(SNIPPETS) >= 3
    assert all(set(snippet) <= {"mcpServers", "servers"} for snippet in SNIPPETS)


@pytest.mark.parametrize("server", SERVERS, ids=lambda server: " ".join(server["args"]))
def test_every_client_snippet_starts_a_command_the_cli_accepts(server: dict[str, Any]) -> None:
    assert Path(server["command"]).name == "article-mcp"
    args = build_parser().parse_args(server["args"])
    assert callable(args.handler)


@pytest.mark.parametrize("heading", ["Claude Desktop", "Cursor"])
def test_claude_desktop_and_cursor_use_mcp_servers(heading: str) -> None:
    assert set(client_config(heading)) == {"mcpServers"}


def test_vs_code_uses_servers_with_a_stdio_type() -> None:
    config = client_config("VS Code")
    assert set(config) == {"servers"}
    assert [server["type"] for server in config["servers"].values()] == ["stdio"]


@pytest.mark.parametrize("code", blocks(TEXT, "python"), ids=lambda code: code.split("\n", 1)[0])
def test_every_python_snippet_compiles(code: str) -> None:
    compile(code, "README.md", "exec")


def test_the_scripts_it_runs_exist() -> None:
    scripts = {
        shlex.split(line)[0]
        for block in blocks(TEXT, *SHELLS)
        for line in block.splitlines()
        if line.startswith("./scripts/")
    }
    assert scripts >= {"./scripts/serve", "./scripts/test"}
    for script in scripts:
        path = ROOT / script
        assert path.is_file(), f"{script} does not exist"
        assert path.stat().st_mode & 0o111, f"{script} is not executable"


@pytest.mark.parametrize("target", sorted(set(re.findall(r"\]\((?!https?:)([^)#]+)", TEXT))))
def test_every_link_reaches_a_file(target: str) -> None:
    assert (ROOT / target).is_file()
