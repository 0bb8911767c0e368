"""The places article-mcp reaches past the mcp SDK's public API, kept here and nowhere else.

mcp 2.x offers no public way to do any of them. Each relies on an internal that a new SDK release
may rename; tests/unit/test_sdk_adapter.py checks both against the installed SDK, and at run
time a missing internal raises `SdkMismatchError` naming the installed mcp version, instead of an
AttributeError deep inside a request.

- `add_request_handler`: MCPServer registers handlers only for the methods it serves itself,
  with no public hook to add or replace one. The server adds `logging/setLevel` (MCPServer has
  none, and the low-level server advertises the logging capability once a handler exists) and
  replaces `resources/list` (MCPServer's lists every resource in one page; ours pages through
  the articles). Relies on `MCPServer._lowlevel_server`, the low-level `Server`, whose public
  `add_request_handler(method, params_type, handler)` registers or replaces a handler.
- `serve_connection`: our stdio transport (server/stdio.py) answers the lines the SDK's own
  `stdio_server` drops, so it hands the server its own streams; MCPServer runs a connection
  only inside `run_stdio_async`, which builds the SDK's transport. Relies on the low-level
  `Server.run(read_stream, write_stream, initialization_options)` and its public
  `create_initialization_options()`.
- `client_connection`: the log level a client sets and the resources it subscribes to must
  outlive the request that set them, but a `ServerSession` is built per request. The client's
  `Connection` (public, kept across requests, with its scratch `state`, its standalone
  channel and its teardown `exit_stack`) reaches low-level handlers only through the
  session's private `_connection`.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any, TypeVar

from mcp.server.connection import Connection
from mcp.server.lowlevel.server import RequestHandler, Server
from mcp.server.mcpserver import MCPServer
from mcp.server.session import ServerSession
from mcp.shared._stream_protocols import ReadStream, WriteStream
from mcp.shared.message import SessionMessage
from pydantic import BaseModel

ParamsT = TypeVar("ParamsT", bound=BaseModel)


class SdkMismatchError(RuntimeError):
    """The installed mcp SDK lacks an internal this module relies on."""

    def __init__(self, internal: str) -> None:
        super().__init__(
            f"mcp {version('mcp')} has no {internal}, which article-mcp relies on "
            "(see article_mcp.server.sdk): install a supported mcp version or update that module"
        )


def add_request_handler(
    server: MCPServer[Any], method: str, params_type: type[ParamsT], handler: RequestHandler[Any, ParamsT]
) -> None:
    """Serve `method` with `handler` (its params validated as `params_type`), replacing any."""
    _lowlevel(server).add_request_handler(method, params_type, handler)


async def serve_connection(
    server: MCPServer[Any],
    read_stream: ReadStream[SessionMessage | Exception],
    write_stream: WriteStream[SessionMessage],
) -> None:
    """Serve one client connection on these streams until the read stream ends."""
    lowlevel = _lowlevel(server)
    await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())


def _lowlevel(server: MCPServer[Any]) -> Server[Any]:
    try:
        return server._lowlevel_server
    except AttributeError:
        raise SdkMismatchError("MCPServer._lowlevel_server") from None


def client_connection(session: ServerSession) -> Connection:
    """The session's client connection, kept across its requests."""
    try:
        return session._connection
    except AttributeError:
        raise SdkMismatchError("ServerSession._connection") from None
