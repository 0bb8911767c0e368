"""Log messages for MCP clients (`logging/setLevel` and `notifications/message`)."""

from __future__ import annotations

import warnings
from typing import Any

from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types import EmptyResult, LoggingLevel, SetLevelRequestParams

from article_mcp.server.sdk import client_connection

# Severity order of MCP log levels (RFC 5424), least severe first.
LEVELS: tuple[LoggingLevel, ...] = (
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
)


# A ServerSession is built per request; the level must outlive it, so it is kept in the
# client connection's scratch state.
_STATE_KEY = "article_mcp.log_level"


class ClientLog:
    """Log messages for clients, at or above the level each connection asked for."""

    def __init__(self, default: LoggingLevel = "warning") -> None:
        self._default = default

    async def set_level(self, ctx: ServerRequestContext[Any], params: SetLevelRequestParams) -> EmptyResult:
        """The `logging/setLevel` handler."""
        client_connection(ctx.session).state[_STATE_KEY] = params.level
        return EmptyResult()

    async def send(self, ctx: Context[Any, Any], level: LoggingLevel, message: str) -> None:
        """Send `message` to the calling client if its connection wants this level."""
        session = ctx.request_context.session
        wanted = client_connection(session).state.get(_STATE_KEY, self._default)
        if LEVELS.index(level) < LEVELS.index(wanted):
            return
        # The SDK marks client logging deprecated for the 2026 protocol (it still drops what a
        # 2026 client did not opt in to); clients of the 2025 protocols use it.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            pending = session.send_log_message(level=level, data=message, logger="article-mcp")
        await pending
