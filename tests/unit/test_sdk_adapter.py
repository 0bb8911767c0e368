"""The mcp SDK internals that article_mcp.server.sdk relies on, checked on the installed SDK.

A failure here means a new mcp release changed one of them: update server/sdk.py (and these
checks) before upgrading. Every message names the installed mcp version.
"""

from __future__ import annotations

import inspect
import re
from importlib.metadata import version
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.server.connection import Connection
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.session import ServerSession
from mcp.shared.message import SessionMessage
from mcp_types import JSONRPCRequest, JSONRPCResponse, ListResourcesResult, PaginatedRequestParams, Resource

from article_mcp.server.sdk import SdkMismatchError, add_request_handler, client_connection, serve_connection

pytestmark = pytest.mark.anyio

MCP = f"mcp {version('mcp')}"


def test_an_mcp_server_keeps_a_lowlevel_server_that_takes_request_handlers() -> None:
    lowlevel = getattr(MCPServer("probe"), "_lowlevel_server", None)
    assert isinstance(lowlevel, Server), f"{MCP}: MCPServer._lowlevel_server is not a low-level Server"
    register = getattr(lowlevel, "add_request_handler", None)
    assert callable(register), f"{MCP}: the low-level Server has no add_request_handler"
    parameters = list(inspect.signature(register).parameters)
    assert parameters == ["method", "params_type", "handler"], (
        f"{MCP}: Server.add_request_handler takes {parameters}, not (method, params_type, handler)"
    )


async def test_a_handler_added_through_the_adapter_replaces_the_servers_own() -> None:
    server = MCPServer("probe")

    async def list_resources(
        ctx: ServerRequestContext[Any], params: PaginatedRequestParams
    ) -> ListResourcesResult:
        return ListResourcesResult(resources=[Resource(uri="probe://one", name="one")], next_cursor="1")

    add_request_handler(server, "resources/list", PaginatedRequestParams, list_resources)
    async with Client(server) as client:
        listed = await client.list_resources()
    assert ([r.name for r in listed.resources], listed.next_cursor) == (["one"], "1"), (
        f"{MCP}: a handler added with add_request_handler did not replace MCPServer's resources/list"
    )


async def test_a_sessions_connection_outlives_each_request_and_is_torn_down_at_its_end() -> None:
    server = MCPServer("probe")
    sessions: list[ServerSession] = []
    closed: list[str] = []

    @server.tool()
    async def probe(ctx: Context[Any, Any]) -> str:
        sessions.append(ctx.request_context.session)
        return "seen"

    async with Client(server, mode="legacy") as client:
        await client.call_tool("probe", {})
        await client.call_tool("probe", {})
        connections = [getattr(session, "_connection", None) for session in sessions]
        assert all(isinstance(c, Connection) for c in connections), (
            f"{MCP}: ServerSession._connection is not the client's Connection"
        )
        assert all(isinstance(getattr(c, "state", None), dict) for c in connections), (
            f"{MCP}: Connection.state is not a dict"
        )
        first, second = (client_connection(session) for session in sessions)
        assert first is second, f"{MCP}: a connection does not last across its requests"
        first.exit_stack.callback(closed.append, "torn down")
        assert closed == []
    assert closed == ["torn down"], f"{MCP}: a connection's exit_stack is not unwound when its client leaves"


def test_a_server_without_its_lowlevel_server_is_an_error_naming_the_sdk_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = MCPServer("probe")
    monkeypatch.delattr(server, "_lowlevel_server")

    async def handler(ctx: ServerRequestContext[Any], params: PaginatedRequestParams) -> ListResourcesResult:
        return ListResourcesResult(resources=[])

    with pytest.raises(SdkMismatchError, match=re.escape(f"{MCP} has no MCPServer._lowlevel_server")):
        add_request_handler(server, "resources/list", PaginatedRequestParams, handler)


def test_a_session_without_its_connection_is_an_error_naming_the_sdk_version() -> None:
    session = ServerSession.__new__(ServerSession)  # as if a release renamed `_connection`
    with pytest.raises(SdkMismatchError, match=re.escape(f"{MCP} has no ServerSession._connection")):
        client_connection(session)


async def test_a_server_serves_a_connection_on_streams_it_is_given() -> None:
    read_send, read_recv = anyio.create_memory_object_stream[SessionMessage | Exception](1)
    write_send, write_recv = anyio.create_memory_object_stream[SessionMessage](1)
    async with write_recv, anyio.create_task_group() as tg:
        tg.start_soon(serve_connection, MCPServer("probe"), read_recv, write_send)
        with anyio.fail_after(10):
            await read_send.send(SessionMessage(JSONRPCRequest(jsonrpc="2.0", id=1, method="ping")))
            reply = (await write_recv.receive()).message
            await read_send.aclose()
    assert isinstance(reply, JSONRPCResponse) and reply.id == 1, (
        f"{MCP}: the low-level Server.run did not answer a ping on the streams it was given"
    )
