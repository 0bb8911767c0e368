"""The scope each MCP tool needs, in one table, and the gate that applies it to every request.

`read` sees and calls the tools that only read; `write` adds the article writes; `admin`
adds queue control wherever it is exposed (no MCP tool controls the queue today). A tool
missing from the table needs `admin`: a new tool is hidden from narrower tokens until it is
given its scope here (tests/integration/test_tool_scopes.py checks every tool has one).

`ScopeGate` is an SDK server middleware (public API: `MCPServer(middleware=...)`): it drops
the tools a principal may not call from `tools/list`, and answers a call to one by name with
an error result saying which scope it needs, logged as `scope_refused`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel

from article_mcp.access.principals import Principal, Scope
from article_mcp.server.identity import current_principal

log = structlog.get_logger(__name__)

TOOL_SCOPES: Mapping[str, Scope] = {
    "get_article": Scope.READ,
    "list_articles": Scope.READ,
    "list_folders": Scope.READ,
    "search_articles": Scope.READ,
    "semantic_search": Scope.READ,
    "queue_status": Scope.READ,
    "list_versions": Scope.READ,
    "get_version": Scope.READ,
    "create_article": Scope.WRITE,
    "update_article": Scope.WRITE,
    "delete_article": Scope.WRITE,
    "restore_version": Scope.WRITE,
    "share_article": Scope.WRITE,
    "unshare_article": Scope.WRITE,
}


def needed_scope(tool: str) -> Scope:
    """The scope a call of `tool` needs (admin for a tool not in the table: closed by default)."""
    return TOOL_SCOPES.get(tool, Scope.ADMIN)


class ScopeGate:
    """Server middleware: each principal lists and calls only the tools its scope allows."""

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        principal = current_principal()
        if ctx.method == "tools/list":
            return _visible(await call_next(ctx), principal)
        name = (ctx.params or {}).get("name") if ctx.method == "tools/call" else None
        if isinstance(name, str) and not principal.allows(needed := needed_scope(name)):
            log.warning(
                "scope_refused", token_name=principal.name, tool=name, needs=needed, has=principal.scope
            )
            message = f"{name}: needs the '{needed}' scope; {principal.name!r} has '{principal.scope}'"
            return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)
        return await call_next(ctx)


def _visible(result: HandlerResult, principal: Principal) -> HandlerResult:
    """A `tools/list` result without the tools `principal` may not call."""
    listed = (
        result.model_dump(by_alias=True, mode="json", exclude_none=True)
        if isinstance(result, BaseModel)
        else result
    )
    if not listed:
        return result
    tools = [tool for tool in listed.get("tools", []) if principal.allows(needed_scope(tool["name"]))]
    return {**listed, "tools": tools}
