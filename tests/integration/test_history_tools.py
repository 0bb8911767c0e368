"""The history tools and resources through an MCP client, in-process, on the real database:
an agent's session of writes, conflicts, diffs and restores, with the client as the author."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from mcp import Client, MCPError
from mcp_types import Implementation

from article_mcp.config import Settings
from article_mcp.db.pool import Database
from article_mcp.server.app import create_server
from tests.integration.test_server import services
from tests.support.mcp_calls import call, fail

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(settings: Settings, db: Database) -> AsyncIterator[Client]:
    model_id = await db.pool.fetchval(
        "INSERT INTO embedding_models (provider, name) VALUES ('test', 'test-model') RETURNING id"
    )
    server = create_server(services(settings, db, model_id))
    async with Client(server, client_info=Implementation(name="test-agent", version="1.0")) as connected:
        yield connected


async def test_history_tools_are_annotated(client: Client) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    restore = tools["restore_version"].annotations
    assert restore is not None
    assert (restore.read_only_hint, restore.destructive_hint, restore.idempotent_hint) == (False, True, True)
    for name in ("list_versions", "get_version"):
        hints = tools[name].annotations
        assert hints is not None and hints.read_only_hint is True
    assert "expected_version" in tools["update_article"].input_schema["properties"]
    assert "purge" in tools["delete_article"].input_schema["properties"]
    assert tools["get_version"].input_schema["required"] == ["slug", "version"]


async def test_an_agent_edits_safely_and_undoes(client: Client) -> None:
    created = await call(
        client, "create_article", title="Runbook", content="step one\n", message="first draft"
    )
    assert created["version"] == 1

    # Read, edit, write back against the version read.
    read = await call(client, "get_article", slug="runbook")
    edited = await call(
        client,
        "update_article",
        slug="runbook",
        content="step one\nstep two\n",
        expected_version=read["version"],
        message="add step two",
    )
    assert edited["version"] == 2
    # A second agent still holding version 1 is told, and nothing is written.
    error = await fail(client, "update_article", slug="runbook", content="oops\n", expected_version=1)
    assert error.startswith("conflict: expected_version: article 'runbook' is at version 2, not 1")
    assert "get_article" in error

    listed = await call(client, "list_versions", slug="runbook")
    assert [(v["version"], v["operation"], v["message"], v["author"]) for v in listed["versions"]] == [
        (2, "update", "add step two", "test-agent"),
        (1, "create", "first draft", "test-agent"),
    ]
    assert "content" not in listed["versions"][0]

    diff = await call(client, "get_version", slug="runbook", version=2, diff_against=1)
    assert diff["diff"].endswith("@@ -1 +1,2 @@\n step one\n+step two\n")
    against_current = await call(client, "get_version", slug="runbook", version=1, diff_against="current")
    assert "-step two\n" in against_current["diff"]
    assert (await call(client, "get_version", slug="runbook", version=1))["content"] == "step one\n"

    deleted = await call(client, "delete_article", slug="runbook", message="obsolete")
    assert deleted["version"] == 3 and deleted["purged_versions"] == 0
    restored = await call(client, "restore_version", slug="runbook", version=2, message="still needed")
    assert (restored["version"], restored["embedding_status"]) == (4, "pending")
    again = await call(client, "restore_version", slug="runbook", version=2)
    assert (again["version"], again["changed"]) == (4, [])  # idempotent
    assert (await call(client, "get_article", slug="runbook"))["content"] == "step one\nstep two\n"


async def test_history_errors_read_clearly(client: Client) -> None:
    await call(client, "create_article", title="Notes", content="x")
    await call(client, "delete_article", slug="notes")
    await call(client, "create_article", title="Notes", content="y")

    assert "conflict: slug: 'notes' is now the slug of another article" in await fail(
        client, "restore_version", slug="notes", version=1, deleted=True
    )
    assert "not found: version: article 'notes' has no version 5" in await fail(
        client, "get_version", slug="notes", version=5
    )
    assert "not found: slug: no article, live or deleted, has the slug 'nope'" in await fail(
        client, "list_versions", slug="nope"
    )
    assert "invalid input: version: input should be greater than or equal to 1" in await fail(
        client, "get_version", slug="notes", version=0
    )
    assert "invalid input: message: string should have at most 1000" in await fail(
        client, "create_article", title="T", content="x", message="m" * 1001
    )


async def test_history_resources(client: Client) -> None:
    await call(client, "create_article", title="Привет", content="one")
    await call(client, "update_article", slug="привет", content="two")

    listing = await client.read_resource("article://%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82/versions")
    page = json.loads(listing.contents[0].text)  # type: ignore[union-attr]
    assert [v["version"] for v in page["versions"]] == [2, 1]
    first = await client.read_resource("article://привет/versions/1")
    assert first.contents[0].text == "one"  # type: ignore[union-attr]
    assert first.contents[0].mime_type == "text/markdown"
    with pytest.raises(MCPError, match="has no version 3"):
        await client.read_resource("article://привет/versions/3")
    with pytest.raises(MCPError, match="not a version number"):
        await client.read_resource("article://привет/versions/two")
