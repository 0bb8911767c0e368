"""Calling article-mcp's tools from a test, whatever the transport."""

from __future__ import annotations

from typing import Any

from mcp import Client
from mcp_types import CallToolResult, TextContent

TOOLS = {
    "create_article",
    "update_article",
    "delete_article",
    "get_article",
    "list_articles",
    "list_folders",
    "search_articles",
    "semantic_search",
    "queue_status",
    "list_versions",
    "get_version",
    "restore_version",
    "share_article",
    "unshare_article",
}
WRITE_TOOLS = {
    "create_article",
    "update_article",
    "delete_article",
    "restore_version",
    "share_article",
    "unshare_article",
}
READ_ONLY_TOOLS = TOOLS - WRITE_TOOLS


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """The tool's structured result; the test fails on an error result."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, error_text(result)
    assert result.structured_content is not None
    return result.structured_content


async def fail(client: Client, tool: str, **arguments: Any) -> str:
    """The text of the tool's error result; the test fails if the call succeeds."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error, result.structured_content
    return error_text(result)


def error_text(result: CallToolResult) -> str:
    """The text blocks of a result, joined."""
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))
