"""Every tool through an MCP client session, in-process, against the real database: schemas,
annotations, structured results, readable errors, resources and client logging."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from typing import Any

import pytest
from mcp import Client, MCPError
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types import CallToolResult, LoggingMessageNotificationParams, TextContent

from article_mcp.articles import ArticleService
from article_mcp.config import Settings
from article_mcp.db import Database, create_pool
from article_mcp.server import ArticleServer, create_server

pytestmark = pytest.mark.anyio

ARTICLE_TOOLS = {
    "create_article",
    "update_article",
    "delete_article",
    "get_article",
    "list_articles",
    "list_folders",
    "search_articles",
}


@pytest.fixture
async def server(settings: Settings, db: Database) -> ArticleServer:
    model_id = await db.pool.fetchval(
        "INSERT INTO embedding_models (provider, name) VALUES ('test', 'test-model') RETURNING id"
    )
    return create_server(ArticleService(settings, db, model_id), max_content_bytes=settings.article_max_bytes)


@pytest.fixture
async def client(server: ArticleServer) -> AsyncIterator[Client]:
    async with Client(server) as connected:
        yield connected


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, error_text(result)
    assert result.structured_content is not None
    return result.structured_content


async def fail(client: Client, tool: str, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error
    return error_text(result)


def error_text(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


async def test_tools_are_described_typed_and_annotated(client: Client) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) >= ARTICLE_TOOLS
    for tool in tools.values():
        assert tool.title and tool.description, tool.name
        assert tool.output_schema is not None, tool.name
        assert tool.annotations is not None and tool.annotations.open_world_hint is False
        for name, schema in tool.input_schema.get("properties", {}).items():
            assert "description" in schema or "anyOf" in schema, (tool.name, name)

    create = tools["create_article"]
    assert create.input_schema["required"] == ["title", "content"]
    assert create.input_schema["properties"]["title"]["maxLength"] == 300
    assert "1000000 bytes" in (create.description or "")
    assert create.annotations is not None and create.annotations.read_only_hint is False
    assert create.annotations.idempotent_hint is False
    delete = tools["delete_article"].annotations
    assert delete is not None and delete.destructive_hint is True
    for name in ("get_article", "list_articles", "list_folders", "search_articles"):
        hints = tools[name].annotations
        assert hints is not None and hints.read_only_hint is True, name
    assert "ctx" not in tools["create_article"].input_schema["properties"]


async def test_an_article_through_every_tool(client: Client) -> None:
    created = await call(
        client,
        "create_article",
        title="Über Vektoren",
        content="# Intro\n\nZebras and quokkas.",
        folder="notes/de",
    )
    assert created["slug"] == "über-vektoren"
    assert created["embedding_status"] == "pending"
    assert isinstance(created["embedding_task_id"], int)

    read = await call(client, "get_article", slug="über-vektoren")
    assert read["content"] == "# Intro\n\nZebras and quokkas."
    assert read["embedding_task_id"] == created["embedding_task_id"]

    updated = await call(client, "update_article", slug="über-vektoren", tags=["math"], content="Narwhals.")
    assert (updated["version"], sorted(updated["changed"])) == (2, ["content", "tags"])

    listed = await call(client, "list_articles", folder="notes")
    assert [a["slug"] for a in listed["articles"]] == ["über-vektoren"]
    assert "content" not in listed["articles"][0]
    assert listed["articles"][0]["embedding_status"] == "pending"

    folders = await call(client, "list_folders")
    assert [(f["folder"], f["total"]) for f in folders["folders"]] == [("notes", 1), ("notes/de", 1)]

    found = await call(client, "search_articles", query="narwhals")
    assert [(m["slug"], m["matched"]) for m in found["results"]] == [("über-vektoren", "content")]

    deleted = await call(client, "delete_article", slug="über-vektoren")
    assert deleted == {"slug": "über-vektoren", "title": "Über Vektoren", "cancelled_tasks": 1}
    assert "not found" in await fail(client, "get_article", slug="über-vektoren")


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("get_article", {"slug": "missing"}, "not found: slug: no article has the slug 'missing'"),
        (
            "create_article",
            {"title": "", "content": "x"},
            "invalid input: title: string should have at least 1",
        ),
        ("create_article", {"title": "  ", "content": "x"}, "invalid input: title: must not be empty"),
        (
            "create_article",
            {"title": "T", "content": "a\x00b"},
            "invalid input: content: must not contain NUL",
        ),
        (
            "create_article",
            {"title": "T", "content": "x" * 1_000_001},
            "content: must be at most 1000000 bytes",
        ),
        (
            "create_article",
            {"title": "T", "content": "x", "folder": "a/../b"},
            "invalid input: folder: must not",
        ),
        ("create_article", {"title": "T"}, "invalid input: content: field required"),
        (
            "create_article",
            {"title": 5, "content": "x"},
            "invalid input: title: input should be a valid string",
        ),
        ("list_articles", {"limit": 1000}, "invalid input: limit: input should be less than or equal to 100"),
        ("update_article", {"slug": "missing", "title": "x"}, "not found: slug"),
        ("update_article", {"slug": "missing"}, "invalid input: arguments: give at least one of"),
        ("search_articles", {"query": ""}, "invalid input: query: string should have at least 1"),
    ],
)
async def test_bad_requests_answer_is_error_naming_field_and_rule(
    client: Client, db: Database, tool: str, arguments: dict[str, Any], message: str
) -> None:
    text = await fail(client, tool, **arguments)
    assert message in text
    assert "Traceback" not in text and "input_value" not in text
    assert await db.pool.fetchval("SELECT count(*) FROM articles") == 0
    # The server carries on.
    assert (await call(client, "list_folders"))["total_articles"] == 0


async def test_slug_conflicts_are_reported(client: Client) -> None:
    await call(client, "create_article", title="One", content="x")
    await call(client, "create_article", title="Two", content="x")
    text = await fail(client, "update_article", slug="two", new_slug="one")
    assert text == "conflict: new_slug: 'one' is already the slug of another article"


async def test_a_lost_database_is_a_readable_error(settings: Settings, database_url: str) -> None:
    pool = await create_pool(database_url)
    server = create_server(ArticleService(settings, Database(pool, database_url), None), max_content_bytes=10)
    await pool.close()
    async with Client(server) as client:
        text = await fail(client, "list_folders")
    assert text.startswith("unavailable: cannot reach the database")


async def test_articles_are_resources(client: Client) -> None:
    await call(client, "create_article", title="Привет мир", content="# Hello\n\nWorld.")
    await call(client, "create_article", title="Second", content="More.", folder="x")

    listed = (await client.list_resources()).resources
    assert [r.name for r in listed] == ["second", "привет-мир"]
    assert all(r.uri.startswith("article://") and r.mime_type == "text/markdown" for r in listed)
    templates = (await client.list_resource_templates()).resource_templates
    assert [t.uri_template for t in templates] == ["article://{slug}"]

    read = await client.read_resource(listed[1].uri)  # percent-encoded, non-Latin slug
    assert read.contents[0].text == "# Hello\n\nWorld."  # type: ignore[union-attr]
    with pytest.raises(MCPError, match="no article has the slug 'missing'"):
        await client.read_resource("article://missing")


async def test_resource_listing_pages(client: Client) -> None:
    for n in range(3):
        await call(client, "create_article", title=f"Note {n}", content="x")
    first = await client.list_resources()
    assert first.next_cursor is None and len(first.resources) == 3
    with pytest.raises(MCPError, match="cursor"):
        await client.list_resources(cursor="not-a-cursor")


async def test_logging_set_level_controls_client_log_messages(server: ArticleServer) -> None:
    received: list[LoggingMessageNotificationParams] = []

    async def on_log(params: LoggingMessageNotificationParams) -> None:
        received.append(params)

    async with Client(server, mode="legacy", logging_callback=on_log) as client:
        assert client.server_capabilities.logging is not None
        await call(client, "create_article", title="Quiet", content="x")
        assert received == []  # below the default level (warning)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            await client.set_logging_level("info")
        await call(client, "create_article", title="Loud", content="x")
        await call(client, "delete_article", slug="loud")

    assert [(m.level, m.data) for m in received] == [
        ("info", "created 'loud'; embedding pending (task 2)"),
        ("info", "deleted 'loud'; cancelled 1 embedding task(s)"),
    ]
