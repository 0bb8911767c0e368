"""Access tokens on the real HTTP server (uvicorn on loopback, a real database): who gets in,
what each scope lists and may call, who writes are by, the per-token rate limit, and that the
database holds no token."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import Implementation
from structlog.testing import capture_logs

from article_mcp.access.principals import Scope
from article_mcp.access.tokens import create_token, hmac_key, revoke_token, token_hash
from article_mcp.db.pool import Database, pooled_connection
from article_mcp.server.app import create_server
from article_mcp.server.http import create_http_app
from article_mcp.server.runtime import open_runtime
from tests.conftest import make_settings
from tests.support.mcp_calls import READ_ONLY_TOOLS, TOOLS, call, error_text

pytestmark = pytest.mark.anyio

AUTH_TOKEN = "t0ken-for-the-access-tests-only"
PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


class _Uvicorn(uvicorn.Server):
    def capture_signals(self) -> Any:  # the test runner owns the signals
        return nullcontext()


@dataclass
class Served:
    base: str
    db: Database

    @property
    def url(self) -> str:
        return f"{self.base}/mcp"

    async def token(self, name: str, scope: Scope, expires_in: timedelta | None = None) -> str:
        async with pooled_connection(self.db) as conn:
            return (await create_token(conn, name, scope, expires_in)).token


@asynccontextmanager
async def serving(database_url: str, tmp_path: Path, **settings: Any) -> AsyncIterator[Served]:
    """`serve --transport http` in this process, on a free loopback port."""
    config = make_settings(
        database_url, article_mcp_data_dir=tmp_path / "data", semantic_search_enabled=False, **settings
    )
    async with open_runtime(config) as runtime:
        app = create_http_app(
            create_server(runtime.services), runtime.services, "127.0.0.1", runtime.database_ok
        )
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        http = _Uvicorn(uvicorn.Config(app, log_config=None, lifespan="on", access_log=False))
        with sock:
            async with anyio.create_task_group() as tg:
                tg.start_soon(lambda: http.serve(sockets=[sock]))
                with anyio.fail_after(30):
                    while not http.started:  # noqa: ASYNC110 - uvicorn sets a flag, no event
                        await anyio.sleep(0.01)
                try:
                    yield Served(f"http://127.0.0.1:{sock.getsockname()[1]}", runtime.db)
                finally:
                    http.should_exit = True


@asynccontextmanager
async def mcp_as(served: Served, token: str) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http,
        Client(
            streamable_http_client(served.url, http_client=http),
            client_info=Implementation(name="some-client", version="1"),
        ) as client,
    ):
        yield client


async def test_no_wrong_revoked_or_expired_token_gets_in(database_url: str, tmp_path: Path) -> None:
    async with serving(database_url, tmp_path, auth_token=AUTH_TOKEN) as served:
        revoked = await served.token("gone", Scope.WRITE)
        expired = await served.token("stale", Scope.WRITE, timedelta(minutes=1))
        async with pooled_connection(served.db) as conn:
            await revoke_token(conn, "gone")
            await conn.execute(
                "UPDATE access_tokens SET expires_at = now() - interval '1 s' WHERE name = 'stale'"
            )
        attempts = {
            "none": {},
            "wrong": {"Authorization": "Bearer amcp_" + "x" * 43},
            "revoked": {"Authorization": f"Bearer {revoked}"},
            "expired": {"Authorization": f"Bearer {expired}"},
        }
        with capture_logs() as logs:
            async with httpx2.AsyncClient() as http:
                answers = {
                    what: await http.post(served.url, json=PING, headers={**MCP_HEADERS, **headers})
                    for what, headers in attempts.items()
                }
        for what, answer in answers.items():
            assert answer.status_code == 401, what
            assert answer.json() == {"error": "unauthorized", "message": "invalid or missing token"}, what
        failed = [(e["reason"], e.get("token_name")) for e in logs if e["event"] == "auth_failed"]
        assert failed == [
            ("no Authorization header", None),
            ("wrong token", None),
            ("revoked", "gone"),
            ("expired", "stale"),
        ]
        assert not any(token in str(logs) for token in (revoked, expired))
        # AUTH_TOKEN is still the built-in admin: every tool, and its writes are by "AUTH_TOKEN".
        async with mcp_as(served, AUTH_TOKEN) as client:
            assert {tool.name for tool in (await client.list_tools()).tools} == TOOLS
            await call(client, "create_article", title="By the admin", content="x")
            versions = await call(client, "list_versions", slug="by-the-admin")
        assert versions["versions"][0]["author"] == "AUTH_TOKEN"


async def test_a_read_token_lists_and_calls_only_reads(database_url: str, tmp_path: Path) -> None:
    async with serving(database_url, tmp_path) as served:
        reader = await served.token("reader", Scope.READ)
        writer = await served.token("writer", Scope.WRITE)
        async with mcp_as(served, writer) as client:
            assert {tool.name for tool in (await client.list_tools()).tools} == TOOLS
            await call(client, "create_article", title="Quokkas", content="Small and smiling.")
        with capture_logs() as logs:
            async with mcp_as(served, reader) as client:
                assert {tool.name for tool in (await client.list_tools()).tools} == READ_ONLY_TOOLS
                assert (await call(client, "get_article", slug="quokkas"))["content"] == "Small and smiling."
                for tool, arguments in [
                    ("create_article", {"title": "Nope", "content": "x"}),
                    ("update_article", {"slug": "quokkas", "content": "changed"}),
                    ("delete_article", {"slug": "quokkas"}),
                    ("restore_version", {"slug": "quokkas", "version": 1}),
                ]:
                    refused = await client.call_tool(tool, arguments)
                    assert refused.is_error
                    assert error_text(refused) == f"{tool}: needs the 'write' scope; 'reader' has 'read'"
                assert (await call(client, "get_article", slug="quokkas"))["version"] == 1
        refusals = [(e["token_name"], e["tool"]) for e in logs if e["event"] == "scope_refused"]
        assert refusals == [
            ("reader", "create_article"),
            ("reader", "update_article"),
            ("reader", "delete_article"),
            ("reader", "restore_version"),
        ]


async def test_writes_are_by_the_tokens_name_on_streamable_http_and_sse(
    database_url: str, tmp_path: Path
) -> None:
    """The SDK's auth context reaches the tool handler, request by request, on both transports."""
    async with serving(database_url, tmp_path) as served:
        alice, bob = await served.token("alice", Scope.WRITE), await served.token("bob", Scope.WRITE)
        async with mcp_as(served, alice) as as_alice, mcp_as(served, bob) as as_bob:
            await call(as_alice, "create_article", title="Shared", content="one")
            await call(as_bob, "update_article", slug="shared", content="two")
            await call(as_alice, "update_article", slug="shared", content="three")
        headers = {"Authorization": f"Bearer {bob}"}
        async with Client(
            sse_client(f"{served.base}/sse", headers=headers),
            client_info=Implementation(name="sse-client", version="1"),
        ) as client:
            await call(client, "update_article", slug="shared", content="four")
            versions = await call(client, "list_versions", slug="shared")
    assert [v["author"] for v in reversed(versions["versions"])] == ["alice", "bob", "alice", "bob"]


async def test_without_auth_token_on_loopback_writes_are_by_the_client_unless_a_token_is_sent(
    database_url: str, tmp_path: Path
) -> None:
    async with serving(database_url, tmp_path) as served:
        reader = await served.token("reader", Scope.READ)
        async with Client(served.url, client_info=Implementation(name="desk-client", version="1")) as client:
            assert {tool.name for tool in (await client.list_tools()).tools} == TOOLS
            await call(client, "create_article", title="Local", content="x")
            assert (await call(client, "list_versions", slug="local"))["versions"][0][
                "author"
            ] == "desk-client"
        async with mcp_as(served, reader) as client:
            assert (await client.call_tool("delete_article", {"slug": "local"})).is_error


async def test_the_rate_limit_is_per_token(database_url: str, tmp_path: Path) -> None:
    async with serving(database_url, tmp_path, http_rate_limit_per_minute=2) as served:
        runaway, other = await served.token("runaway", Scope.READ), await served.token("other", Scope.READ)
        with capture_logs() as logs:
            async with httpx2.AsyncClient() as http:

                async def ping(token: str) -> httpx2.Response:
                    headers = {**MCP_HEADERS, "Authorization": f"Bearer {token}"}
                    return await http.post(served.url, json=PING, headers=headers)

                runaway_answers = [await ping(runaway) for _ in range(3)]
                other_answer = await ping(other)
        assert [answer.status_code == 429 for answer in runaway_answers] == [False, False, True]
        limited = runaway_answers[-1]
        assert 1 <= int(limited.headers["retry-after"]) <= 30  # a slot refills every 30 s
        assert "HTTP_RATE_LIMIT_PER_MINUTE" in limited.json()["message"]
        assert other_answer.status_code != 429
        assert [e["token_name"] for e in logs if e["event"] == "rate_limited"] == ["runaway"]


async def test_the_database_holds_no_token(database_url: str, tmp_path: Path) -> None:
    async with serving(database_url, tmp_path) as served:
        tokens = [await served.token(f"t{n}", scope) for n, scope in enumerate(Scope)]
        async with mcp_as(served, tokens[0]) as client:
            await call(client, "list_folders")  # last used is written: still no token
        async with pooled_connection(served.db) as conn:
            dump = await conn.fetchval("SELECT string_agg(row_to_json(t)::text, '\n') FROM access_tokens t")
            stored = {row["token_hash"] for row in await conn.fetch("SELECT token_hash FROM access_tokens")}
            key = await hmac_key(conn)
            used = await conn.fetchval("SELECT last_used_at IS NOT NULL FROM access_tokens WHERE name = 't0'")
    for token in tokens:
        assert token.startswith("amcp_") and len(token) == 48
        secret = token.removeprefix("amcp_")
        assert secret not in dump and secret.encode().hex() not in dump
    assert stored == {token_hash(key, token) for token in tokens}
    assert used


async def test_a_forged_host_is_refused_even_with_a_valid_token(database_url: str, tmp_path: Path) -> None:
    async with serving(database_url, tmp_path) as served, httpx2.AsyncClient() as http:
        token = await served.token("admin", Scope.ADMIN)
        headers = {**MCP_HEADERS, "Authorization": f"Bearer {token}", "Host": "evil.example"}
        assert (await http.post(served.url, json=PING, headers=headers)).status_code == 421
