"""`article-mcp serve` on the embedded database when the database or the server itself is
killed: writes fail fast while the postmaster is gone and resume, with the worker, once it is
started again; a server killed in the middle of a burst of writes leaves each write whole or
absent."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from article_mcp.db.embedded import EmbeddedServer
from article_mcp.db.pool import connect
from tests.conftest import ARTICLE_MCP, cli_env
from tests.support.fake_providers import FakeEmbeddingServer
from tests.support.mcp_calls import call, error_text

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

LIMIT = 90.0
BURST = 40


def serve_env(tmp_path: Path, server: FakeEmbeddingServer) -> dict[str, str]:
    """The embedded database in the test's own data dir, embeddings from the fake Ollama."""
    return cli_env(
        ARTICLE_MCP_DATA_DIR=tmp_path / "data",
        EMBEDDING_WORKER_INTERVAL="200",
        **server.env("ollama", embedding_model="nomic-embed-text"),
    )


def postmaster_pid(tmp_path: Path) -> int:
    return int((tmp_path / "data" / "pg18" / "postmaster.pid").read_text().split("\n", 1)[0])


async def embedded(client: Client, slug: str) -> None:
    """Wait until the article's embedding is ready."""
    with anyio.fail_after(LIMIT):
        while (await call(client, "get_article", slug=slug))["embedding_status"] != "ready":  # noqa: ASYNC110 - the state is in the server: poll it
            await anyio.sleep(0.1)


async def test_writes_and_the_worker_resume_after_the_postmaster_is_killed(
    tmp_path: Path, fake_server: FakeEmbeddingServer
) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "article_mcp", "serve"], env=serve_env(tmp_path, fake_server)
    )
    async with Client(params) as client:
        before = await call(client, "create_article", title="Before", content="Written before the crash.")
        await embedded(client, before["slug"])
        os.kill(postmaster_pid(tmp_path), signal.SIGKILL)
        errors: list[str] = []
        with anyio.fail_after(LIMIT):
            while True:
                result = await client.call_tool(
                    "create_article", {"title": "After", "content": "Written after."}
                )
                if not result.is_error:
                    break
                errors.append(error_text(result))
                await anyio.sleep(0.1)
        # Every refusal meanwhile said why, in the words of the error tree.
        assert all("unavailable" in e or "cannot reach the database" in e for e in errors), errors
        after = result.structured_content
        assert after is not None
        await embedded(client, after["slug"])
        assert (await call(client, "get_article", slug=before["slug"]))["embedding_status"] == "ready"


def rpc(message_id: int, method: str, params: dict[str, Any]) -> bytes:
    return (
        json.dumps({"jsonrpc": "2.0", "id": message_id, "method": method, "params": params}) + "\n"
    ).encode()


async def test_a_server_killed_during_a_burst_of_writes_leaves_each_write_whole_or_absent(
    tmp_path: Path, fake_server: FakeEmbeddingServer
) -> None:
    process = await anyio.open_process([*ARTICLE_MCP, "serve"], env=serve_env(tmp_path, fake_server))
    assert process.stdin is not None and process.stdout is not None
    hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "burst"}}
    await process.stdin.send(rpc(0, "initialize", hello))
    await process.stdin.send(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}\n')
    burst = b"".join(
        rpc(
            i,
            "tools/call",
            {"name": "create_article", "arguments": {"title": f"Burst {i}", "content": f"Text {i}. " * 200}},
        )
        for i in range(1, BURST + 1)
    )
    await process.stdin.send(burst)
    acknowledged: set[str] = set()
    buffer = b""
    with anyio.fail_after(LIMIT):
        # Kill it once some writes are answered, while the others are still in flight.
        while len(acknowledged) < BURST // 4:
            buffer += await process.stdout.receive()
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                answer = json.loads(line)
                content = answer.get("result", {}).get("structuredContent")
                if content and "slug" in content:
                    acknowledged.add(content["slug"])
    process.kill()
    await process.wait()
    await process.aclose()

    server = await anyio.to_thread.run_sync(EmbeddedServer.acquire, tmp_path / "data")
    try:
        conn = await connect(server.dsn)
        try:
            slugs = {row["slug"] for row in await conn.fetch("SELECT slug FROM articles")}
            # What was acknowledged is there; nothing is there half: every article has the
            # passages of its version and the task that embeds it (or its vectors already).
            assert acknowledged <= slugs
            torn = await conn.fetch(
                """
                SELECT a.slug FROM articles a
                WHERE NOT EXISTS (SELECT 1 FROM article_chunks c
                                  WHERE c.article_id = a.id AND c.article_version = a.version)
                   OR NOT EXISTS (SELECT 1 FROM embedding_tasks t WHERE t.article_id = a.id)
                """
            )
            assert torn == []
        finally:
            await conn.close()
    finally:
        await anyio.to_thread.run_sync(server.release)
