"""Completions of `slug` and `folder` arguments through a real MCP client, drawn from the real
database: prefix matches in order, bounded, with `total` and `hasMore` as the protocol says."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from mcp import Client
from mcp_types import Completion, PromptReference, ResourceTemplateReference

from article_mcp.articles.service import ArticleService
from article_mcp.config import Settings
from article_mcp.db.pool import Database
from article_mcp.server import completions
from article_mcp.server.app import create_server
from tests.integration.test_server import services

pytestmark = pytest.mark.anyio

ARTICLE = ResourceTemplateReference(uri="article://{slug}")
ARTICLES = [
    ("Alpha One", "notes/de"),
    ("Alpha Two", "notes/en"),
    ("Alphabet", "Projects/2026"),
    ("Beta", ""),
    ("Über Vektoren", "notes/de"),
]
SLUGS = ["alpha-one", "alpha-two", "alphabet", "beta", "über-vektoren"]
FOLDERS = ["Projects", "Projects/2026", "notes", "notes/de", "notes/en"]  # in the database's order


@pytest.fixture
async def client(settings: Settings, db: Database) -> AsyncIterator[Client]:
    articles = ArticleService(settings, db, None)
    for title, folder in ARTICLES:
        await articles.create(title=title, content="x", folder=folder)
    async with Client(create_server(services(settings, db, None))) as connected:
        yield connected


async def complete(client: Client, argument: str, typed: str) -> Completion:
    return (await client.complete(ARTICLE, {"name": argument, "value": typed})).completion


async def test_slugs_complete_from_the_database(client: Client) -> None:
    assert client.server_capabilities.completions is not None
    alpha = await complete(client, "slug", "alpha")
    assert (alpha.values, alpha.total, alpha.has_more) == (["alpha-one", "alpha-two", "alphabet"], 3, False)
    assert (await complete(client, "slug", "Alpha-T")).values == ["alpha-two"]  # slugs are lowercase
    assert (await complete(client, "slug", "über")).values == ["über-vektoren"]
    nothing = await complete(client, "slug", "zebra")
    assert (nothing.values, nothing.total, nothing.has_more) == ([], 0, False)
    # Every prefix of every slug completes to exactly the slugs that start with it.
    for prefix in {slug[:n] for slug in SLUGS for n in range(len(slug) + 1)}:
        expected = sorted(slug for slug in SLUGS if slug.startswith(prefix))
        assert (await complete(client, "slug", prefix)).values == expected, prefix


async def test_folders_complete_with_their_parents(client: Client) -> None:
    everything = await complete(client, "folder", "")
    assert (everything.values, everything.total) == (FOLDERS, len(FOLDERS))
    assert (await complete(client, "folder", "notes/")).values == ["notes/de", "notes/en"]
    assert (await complete(client, "folder", "proj")).values == ["Projects", "Projects/2026"]


async def test_completions_are_bounded_and_say_there_is_more(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(completions, "COMPLETION_LIMIT", 2)
    slugs = await complete(client, "slug", "a")
    assert (slugs.values, slugs.total, slugs.has_more) == (["alpha-one", "alpha-two"], 3, True)
    folders = await complete(client, "folder", "")
    assert (folders.values, folders.total, folders.has_more) == (["Projects", "Projects/2026"], 5, True)


async def test_other_arguments_and_prompts_get_what_applies(client: Client) -> None:
    other = await complete(client, "version", "1")
    assert (other.values, other.total, other.has_more) == ([], 0, False)
    # Any template or prompt argument named slug or folder completes the same way.
    prompt = await client.complete(PromptReference(name="summarise"), {"name": "folder", "value": "notes/d"})
    assert prompt.completion.values == ["notes/de"]
