"""The HTTP client snippets of docs/clients.md are valid configuration for their clients, aim
at the URL the server listens on by default, and send the token the way the server wants it.
(tests/e2e/test_client_snippets.py runs the shell and Python ones against a real server.)"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

from article_mcp.config import Settings
from article_mcp.server.http import MCP_PATH
from tests.support.docs import DOCS, SHELLS, blocks

PAGE = (DOCS / "clients.md").read_text(encoding="utf-8")
HTTP_SECTION = re.search(r"^## Over HTTP, with a token\n(.*?)(?=^## )", PAGE, flags=re.M | re.S)
assert HTTP_SECTION, "docs/clients.md has no '## Over HTTP, with a token' section"
SNIPPETS: list[dict[str, Any]] = [json.loads(block) for block in blocks(HTTP_SECTION[1], "json")]
FIELDS = Settings.model_fields
URL = f"http://{FIELDS['http_host'].default}:{FIELDS['http_port'].default}{MCP_PATH}"


def server_of(key: str, field: str) -> dict[str, Any]:
    """The `articles` server of the snippet under `key` that has `field`."""
    (config,) = [s[key]["articles"] for s in SNIPPETS if key in s and field in s[key]["articles"]]
    return config


def test_cursor_names_the_url_and_an_environment_token() -> None:
    assert server_of("mcpServers", "url") == {
        "url": URL,
        "headers": {"Authorization": "Bearer ${env:AUTH_TOKEN}"},
    }


def test_vs_code_uses_servers_with_the_http_type_and_a_prompted_token() -> None:
    (config,) = [snippet for snippet in SNIPPETS if "servers" in snippet]
    vscode = config["servers"]["articles"]
    (prompt,) = config["inputs"]
    assert (vscode["type"], vscode["url"]) == ("http", URL)
    assert vscode["headers"] == {"Authorization": f"Bearer ${{input:{prompt['id']}}}"}
    assert prompt["password"] is True


def test_claude_desktop_bridges_stdio_to_the_url_with_the_header() -> None:
    claude = server_of("mcpServers", "command")
    assert claude["command"] == "npx"
    assert claude["args"][claude["args"].index("mcp-remote") + 1] == URL
    header = claude["args"][claude["args"].index("--header") + 1]
    assert header == "Authorization:${AUTH_HEADER}"
    assert claude["env"]["AUTH_HEADER"].startswith("Bearer ")


def test_the_shell_request_sends_the_token_and_a_valid_initialize() -> None:
    (curl,) = blocks(HTTP_SECTION[1], *SHELLS)
    words = shlex.split(curl.replace("\\\n", " "), posix=True)
    assert words[:3] == ["curl", "-s", URL]
    headers = [words[i + 1] for i, word in enumerate(words) if word == "-H"]
    assert "Authorization: Bearer $AUTH_TOKEN" in headers
    assert json.loads(words[words.index("-d") + 1])["method"] == "initialize"
