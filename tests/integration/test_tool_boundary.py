"""Arguments checked at the boundary (issue 14, defects 5 and 6): each hostile value gets a
readable error naming the field, never an SQL message, and nothing it carries is stored."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from mcp import Client, MCPError

from article_mcp.config import Settings
from article_mcp.db.pool import Database
from article_mcp.server.app import create_server
from tests.integration.test_server import services
from tests.support.mcp_calls import call, fail

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(settings: Settings, db: Database) -> AsyncIterator[Client]:
    async with Client(create_server(services(settings, db, None))) as connected:
        await call(connected, "create_article", title="Kept", content="Text.")
        yield connected


async def test_a_nul_in_a_slug_is_refused_by_every_tool_that_takes_one(client: Client) -> None:
    for tool, extra in (("get_article", {}), ("update_article", {"title": "New"}), ("delete_article", {})):
        text = await fail(client, tool, slug="ke\x00pt", **extra)
        assert text == "invalid input: slug: must not contain NUL characters (\\u0000)", tool
    for uri in ("article://ke\x00pt", "article://ke%00pt"):  # the SDK's template matches neither
        with pytest.raises(MCPError, match="Unknown resource"):
            await client.read_resource(uri)
    assert (await call(client, "get_article", slug="kept"))["title"] == "Kept"


async def test_offsets_and_cursors_stay_within_what_the_database_holds(client: Client) -> None:
    text = await fail(client, "list_articles", offset=2**63)
    assert text.startswith("invalid input: offset:") and "9223372036854775807" in text
    assert (await call(client, "list_articles", offset=2**63 - 1))["articles"] == []
    for cursor in ("1" * 30, "9223372036854775808", "١٢", "²", "-1", " 1"):
        with pytest.raises(MCPError, match="cursor: not a cursor this server gave out"):
            await client.list_resources(cursor=cursor)


async def test_booleans_are_strict_and_counts_take_their_digits(client: Client) -> None:
    for value in ("yes", 1, "1", "on", "true"):
        text = await fail(client, "create_article", title="T", content="x", no_rag=value)
        assert text.startswith("invalid input: no_rag:"), (value, text)
    assert (await call(client, "create_article", title="T", content="x", no_rag=True))["no_rag"] is True
    found = await call(client, "semantic_search", query="text", k="5", mode="fulltext")
    assert [hit["slug"] for hit in found["results"]] == ["kept"]
    assert (await fail(client, "list_articles", limit=True)).startswith(
        "invalid input: limit: must be integer"
    )
    assert (await fail(client, "semantic_search", query="x", k="five")).startswith("invalid input: k:")


async def test_a_misspelt_argument_is_refused_with_the_names_the_tool_takes(client: Client) -> None:
    text = await fail(client, "search_articles", query="text", foldr="guides")
    assert text == (
        "invalid input: arguments: unknown argument 'foldr' (this tool takes: folder, limit, query); "
        "did you mean 'folder'?"
    )
    text = await fail(client, "semantic_search", query="text", kk=3)
    assert "unknown argument 'kk'" in text and "multi_query" in text
    assert "unknown argument 'x'" in await fail(client, "list_folders", x=1)


async def test_strings_at_any_depth_are_checked(client: Client) -> None:
    text = await fail(client, "create_article", title="T", content="x", tags=["ok", "b\x00d"])
    assert text.startswith("invalid input: tags[1]: must not contain NUL")
    text = await fail(client, "semantic_search", query="x", multi_query=["\ud800"])
    assert text.startswith("invalid input: multi_query[0]: must be valid Unicode")


async def test_invisible_titles_slugs_folders_and_tags_are_refused(client: Client) -> None:
    for title in ("\u200b\u200b", "\u3164", "evil\u202etxt.exe"):
        text = await fail(client, "create_article", title=title, content="x")
        assert text.startswith("invalid input: title:"), (title, text)
    assert (await fail(client, "create_article", title="T", content="x", tags=["\u3164"])).startswith(
        "invalid input: tags:"
    )
    assert (await fail(client, "create_article", title="T", content="x", folder="a\u200bb")).startswith(
        "invalid input: folder:"
    )
    assert (await fail(client, "update_article", slug="kept", new_slug="ke\u200bpt")).startswith(
        "invalid input: new_slug:"
    )
    titles = {a["title"] for a in (await call(client, "list_articles"))["articles"]}
    assert titles == {"Kept"}
