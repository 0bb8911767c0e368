"""`article-mcp check provider` as an operator runs it: a subprocess against the fake Ollama
and OpenAI servers, and the local model; output and exit codes for success and each error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from article_mcp.config import ProviderName
from tests.conftest import CliResult, cli_env, run_cli
from tests.support.fake_providers import DEFAULT_API_KEY, FakeEmbeddingServer

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def check(server: FakeEmbeddingServer, provider: ProviderName, *args: str, **env: Any) -> CliResult:
    variables = {**server.env(provider), **{k.upper(): str(v) for k, v in env.items()}}
    return await run_cli("check", "provider", *args, env=cli_env(**variables))


@pytest.mark.parametrize("provider", ["ollama", "openai"])
async def test_a_working_provider_reports_model_dimension_and_latency(
    fake_server: FakeEmbeddingServer, provider: ProviderName
) -> None:
    result = await check(fake_server, provider, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["provider"] == provider
    assert report["model"] == {"ollama": "nomic-embed-text", "openai": "text-embedding-3-small"}[provider]
    assert report["dimensions"] == 16
    assert report["latency_ms"] >= 0 and report["tokens"] > 0
    assert report["endpoint"].startswith(fake_server.url)
    assert fake_server.call_count == 1
    human = await check(fake_server, provider, "--text", "hello there")
    assert human.returncode == 0, human.stderr
    assert "dimensions" in human.stdout and "16" in human.stdout and "OK: the provider embeds" in human.stdout
    # The text goes as a passage would, with the model's document instruction before it.
    prefix = {"ollama": "search_document: ", "openai": ""}[provider]
    assert report["document_prefix"] == prefix and report["tokens_from"] == "reported"
    assert fake_server.calls[-1].inputs == [prefix + "hello there"]


async def test_an_unknown_model_exits_1_with_the_fix(fake_server: FakeEmbeddingServer) -> None:
    fake_server.models = {"other"}
    result = await check(fake_server, "ollama")
    assert result.returncode == 1
    assert "permanent error" in result.stderr
    assert "run `ollama pull nomic-embed-text`" in result.stderr


async def test_a_server_error_is_reported_as_transient(fake_server: FakeEmbeddingServer) -> None:
    fake_server.fail(503)
    result = await check(fake_server, "ollama", "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["error_kind"] == "transient"
    assert "HTTP 503" in report["message"]


async def test_a_rate_limit_reports_its_retry_after(fake_server: FakeEmbeddingServer) -> None:
    fake_server.rate_limit(retry_after="12")
    result = await check(fake_server, "openai", "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["error_kind"] == "rate_limited" and report["retry_after"] == 12


async def test_a_wrong_key_is_permanent_and_never_printed(fake_server: FakeEmbeddingServer) -> None:
    result = await check(fake_server, "openai", openai_api_key="sk-wrong-0123456789")
    assert result.returncode == 1
    assert "rejected OPENAI_API_KEY" in result.stderr
    assert "0123456789" not in result.stdout + result.stderr
    assert DEFAULT_API_KEY not in result.stdout + result.stderr


async def test_an_unreachable_server_is_transient(fake_server: FakeEmbeddingServer) -> None:
    url = fake_server.url
    fake_server.stop()
    result = await check(fake_server, "ollama", ollama_base_url=url, embedding_connect_timeout=500)
    assert result.returncode == 1
    assert "transient error: cannot reach Ollama at" in result.stderr


async def test_a_configuration_problem_exits_2(fake_server: FakeEmbeddingServer) -> None:
    result = await run_cli("check", "provider", env=cli_env(EMBEDDING_PROVIDER="openai"))
    assert result.returncode == 2
    assert "OPENAI_API_KEY" in result.stderr


async def test_the_local_model(tmp_path: Path) -> None:
    result = await run_cli("check", "provider", "--json", env=cli_env(EMBEDDING_PROVIDER="local"))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] and report["dimensions"] == 384 and report["model"] == "all-MiniLM-L6-v2"
    assert "load_ms" in report
