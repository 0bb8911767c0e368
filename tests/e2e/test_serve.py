"""`article-mcp serve` as a real subprocess: every tool over stdio, streamable HTTP and SSE,
bearer auth, DNS-rebinding protection, the bind rule, and a clean shutdown on SIGTERM."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import ARTICLE_MCP, cli_env, run_cli
from tests.support.fake_providers import FakeEmbeddingServer
from tests.support.mcp_calls import TOOLS, call, error_text

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

TOKEN = "t0ken-for-the-e2e-tests-only"


def server_env(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    """A server without embeddings (fast to start); the tests that need them say so."""
    settings: dict[str, str | Path] = {
        "DATABASE_URL": database_url,
        "ARTICLE_MCP_DATA_DIR": tmp_path / "data",
        "SEMANTIC_SEARCH_ENABLED": "false",
        "LOG_FORMAT": "json",
        **extra,
    }
    return cli_env(**settings)


@dataclass
class HttpServer:
    """A running `serve --transport http` subprocess."""

    process: Process
    url: str  # .../mcp
    stderr: list[str]

    @property
    def base(self) -> str:
        return self.url.removesuffix("/mcp")


@asynccontextmanager
async def http_server(env: dict[str, str], *args: str) -> AsyncIterator[HttpServer]:
    """Start the server on a free port, wait for it to listen, stop it with SIGTERM."""
    command = [*ARTICLE_MCP, "serve", "--transport", "http", "--port", "0", *args]
    async with await anyio.open_process(command, env=env) as process:
        assert process.stderr is not None
        lines: list[str] = []
        stream = TextReceiveStream(process.stderr)
        url = None
        with anyio.fail_after(120):
            buffer = ""
            while url is None:
                buffer += await stream.receive()
                *complete, buffer = buffer.split("\n")
                lines.extend(complete)
                url = next((json.loads(ln)["url"] for ln in complete if '"http_listening"' in ln), None)
        server = HttpServer(process, url, lines)
        async with anyio.create_task_group() as tg:

            async def drain() -> None:
                async for chunk in stream:
                    lines.extend(chunk.splitlines())

            tg.start_soon(drain)
            try:
                yield server
            finally:
                process.send_signal(signal.SIGTERM)
                with anyio.fail_after(60):
                    code = await process.wait()
                tg.cancel_scope.cancel()
        assert code == 0, "\n".join(lines)


async def exercise_every_tool(client: Client) -> None:
    """One article through every tool, as an agent would use them."""
    assert {tool.name for tool in (await client.list_tools()).tools} == TOOLS
    created = await call(client, "create_article", title="Subprocess notes", content="# Zebras\n\nStripes.")
    slug = created["slug"]
    assert (slug, created["embedding_status"]) == ("subprocess-notes", "disabled")
    assert (await call(client, "get_article", slug=slug))["content"] == "# Zebras\n\nStripes."
    updated = await call(client, "update_article", slug=slug, content="# Zebras\n\nStripes and quokkas.")
    assert updated["version"] == 2
    assert [a["slug"] for a in (await call(client, "list_articles"))["articles"]] == [slug]
    assert (await call(client, "list_folders"))["total_articles"] == 1
    assert [m["slug"] for m in (await call(client, "search_articles", query="quokkas"))["results"]] == [slug]
    found = await call(client, "semantic_search", query="quokkas")
    assert (found["fallback"], [hit["slug"] for hit in found["results"]]) == (True, [slug])
    assert (await call(client, "queue_status"))["state"] == "disabled"
    bad = await client.call_tool("create_article", {"title": "", "content": "x"})
    assert bad.is_error and "title" in error_text(bad)
    assert (await call(client, "delete_article", slug=slug))["slug"] == slug
    assert (await client.call_tool("get_article", {"slug": slug})).is_error


async def test_stdio(database_url: str, tmp_path: Path) -> None:
    env = server_env(database_url, tmp_path)
    params = StdioServerParameters(command=sys.executable, args=["-m", "article_mcp", "serve"], env=env)
    async with Client(params) as client:
        await exercise_every_tool(client)


async def test_stdio_stdout_carries_only_the_protocol_and_survives_garbage(
    database_url: str, tmp_path: Path
) -> None:
    messages: list[Any] = [
        "this line is not JSON",
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw"}},
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "get_article", "arguments": {}},
        },
        {"jsonrpc": "2.0", "id": 3, "method": "no/such/method"},
        {"jsonrpc": "2.0", "id": 4, "method": "tools/list"},
    ]
    env = server_env(database_url, tmp_path, LOG_LEVEL="DEBUG")
    async with await anyio.open_process([*ARTICLE_MCP, "serve"], env=env) as process:
        assert process.stdin and process.stdout and process.stderr
        lines = (m if isinstance(m, str) else json.dumps(m) for m in messages)
        await process.stdin.send("".join(line + "\n" for line in lines).encode())
        out = b""
        with anyio.fail_after(120):
            while out.count(b"\n") < 5:
                out += await process.stdout.receive()
            await process.stdin.aclose()  # the client leaves: the server stops
            out += b"".join([chunk async for chunk in process.stdout])
            logs = b"".join([chunk async for chunk in process.stderr]).decode()
            assert await process.wait() == 0, logs

    replies = [json.loads(line) for line in out.decode().splitlines()]
    assert sorted(r["id"] for r in replies if r["id"] is not None) == [1, 2, 3, 4]
    # The garbage line is answered too: a parse error with a null id.
    assert [r["error"]["code"] for r in replies if r["id"] is None] == [-32700]
    assert all(r["jsonrpc"] == "2.0" for r in replies)
    by_id = {r["id"]: r for r in replies}
    assert by_id[2]["result"]["isError"] is True
    assert "slug" in by_id[2]["result"]["content"][0]["text"]
    assert by_id[3]["error"]["code"] == -32601
    assert len(by_id[4]["result"]["tools"]) == len(TOOLS)
    # Logs went to stderr, as JSON lines.
    events = [json.loads(line)["event"] for line in logs.splitlines() if line.startswith("{")]
    assert "server_stopped" in events


async def test_streamable_http_without_token_on_loopback(database_url: str, tmp_path: Path) -> None:
    env = server_env(database_url, tmp_path, ARTICLE_MAX_BYTES="3000000")
    async with http_server(env) as server:
        async with httpx2.AsyncClient() as http:
            health = await http.get(f"{server.base}/health")
        assert (health.status_code, health.json()["status"]) == (200, "ok")
        async with Client(server.url) as client:
            await exercise_every_tool(client)
            # The largest article fits in a request even when JSON escaping doubles it (> 4 MB).
            big = "start" + "\n" * 2_900_000 + "end"
            created = await call(client, "create_article", title="Big", content=big)
            assert created["size_bytes"] == len(big)


async def test_http_requires_the_token_when_set(database_url: str, tmp_path: Path) -> None:
    env = server_env(database_url, tmp_path, AUTH_TOKEN=TOKEN)
    async with http_server(env) as server, httpx2.AsyncClient() as http:
        initialize = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        for headers in ({}, {"Authorization": "Bearer wrong-token-of-some-length"}, {"Authorization": TOKEN}):
            denied = await http.post(server.url, json=initialize, headers=headers)
            assert denied.status_code == 401, headers
            assert denied.headers["www-authenticate"].startswith("Bearer")
        assert (await http.get(f"{server.base}/sse", headers={})).status_code == 401
        assert (await http.get(f"{server.base}/health")).status_code == 200

        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as authorized,
            Client(streamable_http_client(server.url, http_client=authorized)) as client,
        ):
            await exercise_every_tool(client)
        async with Client(
            sse_client(f"{server.base}/sse", headers={"Authorization": f"Bearer {TOKEN}"})
        ) as client:
            await exercise_every_tool(client)


async def test_dns_rebinding_is_refused(database_url: str, tmp_path: Path) -> None:
    async with http_server(server_env(database_url, tmp_path)) as server, httpx2.AsyncClient() as http:
        ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        headers = {"Accept": "application/json, text/event-stream"}
        evil_host = await http.post(server.url, json=ping, headers={**headers, "Host": "evil.example"})
        assert evil_host.status_code == 421
        evil_origin = await http.post(
            server.url, json=ping, headers={**headers, "Origin": "http://evil.example"}
        )
        assert evil_origin.status_code == 403


async def test_refuses_a_public_bind_without_token(database_url: str, tmp_path: Path) -> None:
    env = server_env(database_url, tmp_path)
    result = await run_cli("serve", "--transport", "http", "--host", "0.0.0.0", env=env, limit=60)
    assert result.returncode == 2
    assert "AUTH_TOKEN" in result.stderr and "HTTP_HOST" in result.stderr


async def wait_for_status(client: Client, slug: str, status: str) -> dict[str, Any]:
    """Poll the article as an agent would, until the worker has done its part (at most 60 s)."""
    for _ in range(600):
        article = await call(client, "get_article", slug=slug)
        if article["embedding_status"] == status:
            return article
        await anyio.sleep(0.1)
    raise AssertionError(f"{slug} never became {status}: {article['embedding_status']}")


async def test_the_worker_in_the_server_embeds_new_articles(
    database_url: str, tmp_path: Path, fake_server: FakeEmbeddingServer
) -> None:
    env = server_env(database_url, tmp_path, SEMANTIC_SEARCH_ENABLED="true", **fake_server.env("ollama"))
    # Over HTTP: `http_server` also checks that SIGTERM stops protocol and worker cleanly (exit 0).
    async with http_server(env) as server, Client(server.url) as client:
        created = await call(client, "create_article", title="Quokkas", content="Small and smiling.")
        assert created["embedding_status"] in {"pending", "ready"}
        await wait_for_status(client, "quokkas", "ready")

        found = await call(client, "semantic_search", query="Small and smiling.", mode="semantic")
        assert (found["searched"], found["fallback"]) == (["semantic"], False)
        assert [(hit["slug"], hit["embedding_status"]) for hit in found["results"]] == [("quokkas", "ready")]
        status = await call(client, "queue_status")
        assert (status["state"], status["workers_alive"], status["counts"]["completed"]) == ("running", 1, 1)
    assert fake_server.call_count >= 1


async def test_with_the_queue_disabled_writes_embed_before_they_return(
    database_url: str, tmp_path: Path, fake_server: FakeEmbeddingServer
) -> None:
    env = server_env(
        database_url,
        tmp_path,
        SEMANTIC_SEARCH_ENABLED="true",
        EMBEDDING_QUEUE_ENABLED="false",
        **fake_server.env("ollama"),
    )
    params = StdioServerParameters(command=sys.executable, args=["-m", "article_mcp", "serve"], env=env)
    async with Client(params) as client:
        created = await call(client, "create_article", title="Narwhals", content="Tusks.")
        assert created["embedding_status"] == "ready"
        updated = await call(client, "update_article", slug="narwhals", content="Long tusks.")
        assert updated["embedding_status"] == "ready"
        assert (await call(client, "queue_status"))["state"] == "synchronous"
