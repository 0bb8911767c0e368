"""Every tool through an MCP client session, in-process, against the real database: schemas,
annotations, structured results, readable errors, resources and client logging."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from typing import Any

import pytest
from mcp import Client, MCPError
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types import LoggingMessageNotificationParams

from article_mcp.articles.service import ArticleService
from article_mcp.config import Settings
from article_mcp.db.pool import Database, create_pool
from article_mcp.search.service import SearchService
from article_mcp.server.app import ArticleServer, Services, create_server
from tests.support.mcp_calls import READ_ONLY_TOOLS, TOOLS, call, fail

pytestmark = pytest.mark.anyio


def services(settings: Settings, db: Database, model_id: int | None) -> Services:
    """The services of a server whose model is registered but not reachable from here: the
    write path queues for it, search answers from full text."""
    return Services(
        settings, db, ArticleService(settings, db, model_id), SearchService(settings, db, None, None)
    )


@pytest.fixture
async def server(settings: Settings, db: Database) -> ArticleServer:
    model_id = await db.pool.fetchval(
        "INSERT INTO embedding_models (provider, name) VALUES ('test', 'test-model') RETURNING id"
    )
    return create_server(services(settings, db, model_id))


@pytest.fixture
async def client(server: ArticleServer) -> AsyncIterator[Client]:
    async with Client(server) as connected:
        yield connected


async def test_tools_are_described_typed_and_annotated(client: Client) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
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
    for name in READ_ONLY_TOOLS:
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
    assert deleted == {
        "slug": "über-vektoren",
        "title": "Über Vektoren",
        "cancelled_tasks": 1,
        "version": 3,
        "purged_versions": 0,
    }
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


async def test_semantic_search_answers_from_full_text_without_a_provider(client: Client) -> None:
    await call(client, "create_article", title="Zebras", content="Stripes on the savanna.", tags=["animals"])
    await call(client, "create_article", title="Hidden", content="Stripes in private.", no_rag=True)

    found = await call(client, "semantic_search", query="stripes", tags=["animals"])
    assert (found["mode"], found["searched"], found["fallback"]) == ("hybrid", ["fulltext"], True)
    assert "disabled" in found["notice"]
    [hit] = found["results"]
    assert (hit["slug"], hit["matched_by"]) == ("zebras", "fulltext")
    assert hit["passages"][0]["text"] == "Stripes on the savanna."

    assert "invalid input: mode" in await fail(client, "semantic_search", query="stripes", mode="semantic")
    assert "invalid input: k" in await fail(client, "semantic_search", query="stripes", k=0)
    assert "invalid input: folder" in await fail(client, "semantic_search", query="x", folder="/abs")


async def test_queue_status_reports_the_queue(client: Client) -> None:
    await call(client, "create_article", title="One", content="x")
    await call(client, "create_article", title="Two", content="y")

    status = await call(client, "queue_status")
    assert status["counts"]["pending"] == 2
    assert status["pending_by_priority"]["normal"] == 2
    assert status["workers_alive"] == 0
    assert status["oldest_pending_seconds"] >= 0


async def test_slug_conflicts_are_reported(client: Client) -> None:
    await call(client, "create_article", title="One", content="x")
    await call(client, "create_article", title="Two", content="x")
    text = await fail(client, "update_article", slug="two", new_slug="one")
    assert text == "conflict: new_slug: 'one' is already the slug of another article"


async def test_a_lost_database_is_a_readable_error(settings: Settings, database_url: str) -> None:
    pool = await create_pool(database_url)
    server = create_server(services(settings, Database(pool, database_url), None))
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
    assert [t.uri_template for t in templates] == [
        "article://{slug}",
        "article://{slug}/versions",
        "article://{slug}/versions/{n}",
    ]

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
        ("info", "deleted 'loud'; history kept (deletion is version 2); cancelled 1 embedding task(s)"),
    ]
