"""`article-mcp check config` as a subprocess: it runs on settings every other command
refuses, names the broken variable, never shows a secret, and reads the .env file."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from tests.conftest import ARTICLE_MCP, CliResult, cli_env

pytestmark = pytest.mark.anyio


async def check_config(cwd: Path, *args: str, **env: str) -> CliResult:
    with anyio.fail_after(120):
        done = await anyio.run_process(
            [*ARTICLE_MCP, "check", "config", *args], env=cli_env(**env), cwd=cwd, check=False
        )
    return CliResult(done.returncode, done.stdout.decode(), done.stderr.decode())


async def test_valid_settings_with_their_sources(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("EMBEDDING_MAX_RETRIES=7\n")
    result = await check_config(
        tmp_path, "--json", OPENAI_API_KEY="sk-not-to-be-shown", EMBEDDING_BATCH_SIZE="5"
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    lines = {line["name"]: line for line in report["settings"]}
    assert (lines["EMBEDDING_MAX_RETRIES"]["value"], lines["EMBEDDING_MAX_RETRIES"]["source"]) == (
        "7",
        ".env",
    )
    assert (lines["EMBEDDING_BATCH_SIZE"]["value"], lines["EMBEDDING_BATCH_SIZE"]["source"]) == (
        "5",
        "environment",
    )
    assert lines["OPENAI_API_KEY"]["value"] == "********"
    assert "sk-not-to-be-shown" not in result.stdout + result.stderr


async def test_broken_settings_are_reported_not_refused(tmp_path: Path) -> None:
    broken = {"CHUNK_SIZE": "abc", "DATABASE_URL": "postgresql://u:hunter2-secret@db/x"}
    refused = await anyio.run_process([*ARTICLE_MCP, "queue", "status"], env=cli_env(**broken), check=False)
    assert refused.returncode == 2 and b"CHUNK_SIZE" in refused.stderr
    result = await check_config(tmp_path, **broken)
    assert result.returncode == 1
    assert "CHUNK_SIZE: input should be a valid integer" in result.stdout.replace("\n", " ")
    assert "settings invalid" in result.stdout and "hunter2" not in result.stdout
