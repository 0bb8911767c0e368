"""Public share links end to end: made and revoked through the MCP tools, read over the HTTP
front (no token needed, even with AUTH_TOKEN set), against the real database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pytest
from mcp import Client

from article_mcp.config import Settings
from article_mcp.db.pool import Database
from article_mcp.server.app import create_server
from article_mcp.server.http import create_http_app
from tests.conftest import make_settings
from tests.integration.test_server import services
from tests.support.mcp_calls import call, fail

pytestmark = pytest.mark.anyio

PUBLIC_URL = "https://articles.example.org/kb"
AUTH_TOKEN = "Zq8vN2mK7xR4tL9pW3sY6bH1cF5gJ0dA"


@dataclass
class Front:
    mcp: Client
    http: httpx.AsyncClient
    db: Database

    async def share(self, slug: str, **arguments: object) -> str:
        """A new link's path (what follows the public URL)."""
        link = await call(self.mcp, "share_article", slug=slug, **arguments)
        assert link["url"].startswith(f"{PUBLIC_URL}/s/amcs_")
        return urlsplit(link["url"]).path.removeprefix(urlsplit(PUBLIC_URL).path)

    async def create(self, title: str, content: str) -> str:
        return str((await call(self.mcp, "create_article", title=title, content=content))["slug"])


@pytest.fixture
async def front(database_url: str, db: Database, tmp_path: object) -> AsyncIterator[Front]:
    settings: Settings = make_settings(database_url, http_public_url=PUBLIC_URL + "/", auth_token=AUTH_TOKEN)
    built = services(settings, db, None)
    server = create_server(built)

    async def healthy() -> bool:
        return True

    app = create_http_app(server, built, "127.0.0.1", healthy)
    transport = httpx.ASGITransport(app=app)
    async with (
        Client(server) as mcp,
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http,
    ):
        yield Front(mcp, http, db)


async def test_a_shared_page_renders_without_a_token_and_as_markdown(front: Front) -> None:
    content = "## Steps\n\n1. *Boil* water\n2. Pour\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    path = await front.share(await front.create("Tea & biscuits", content))

    page = await front.http.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "<title>Tea &amp; biscuits</title>" in page.text
    assert "<h2>Steps</h2>" in page.text and "<em>Boil</em>" in page.text and "<td>2</td>" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"

    raw = await front.http.get(path, params={"format": "md"})
    assert raw.status_code == 200
    assert raw.headers["content-type"] == "text/markdown; charset=utf-8"
    assert raw.text == content
    assert (await front.http.get("/mcp")).status_code == 401  # the rest still needs the token


async def test_script_raw_html_and_javascript_links_in_an_article_are_inert(front: Front) -> None:
    content = (
        "<script>alert(1)</script>\n\n"
        '<img src=x onerror="alert(2)">\n\n'
        "[click](javascript:alert(3)) and [also](JAVASCRIPT:alert(4))\n\n"
        "<a href=\"javascript:alert(5)\">raw</a> <iframe src='https://evil.example'></iframe>\n"
    )
    path = await front.share(await front.create("<script>alert(0)</script>", content))
    page = (await front.http.get(path)).text.lower()
    assert "<script" not in page and "<img" not in page and "<iframe" not in page and "<a " not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<title>&lt;script&gt;alert(0)&lt;/script&gt;</title>" in page
    assert "script-src" not in (await front.http.get(path)).headers["content-security-policy"]


async def test_a_revoked_expired_or_unknown_link_answers_the_same_404(front: Front) -> None:
    slug = await front.create("Secret plans", "Nothing to see.")
    revoked, expired, kept = [await front.share(slug, expires="7d") for _ in range(3)]
    other = await front.share(await front.create("Other", "Still here."))

    first_id = int((await call(front.mcp, "share_article", slug=slug))["id"])
    undone = await call(front.mcp, "unshare_article", slug=slug, share_id=first_id)
    assert undone == {"slug": slug, "revoked": [first_id]}
    await front.db.pool.execute(
        "UPDATE share_links SET revoked_at = now() WHERE id = (SELECT min(id) FROM share_links)"
    )
    await front.db.pool.execute(
        "UPDATE share_links SET expires_at = now() - interval '1 second' WHERE id = "
        "(SELECT min(id) + 1 FROM share_links)"
    )

    answers = [await front.http.get(path) for path in (revoked, expired, "/s/amcs_unknown", "/s/x")]
    assert {(a.status_code, a.text) for a in answers} == {(404, "not found\n")}
    assert "Secret" not in "".join(a.text for a in answers)
    assert (await front.http.get(kept)).status_code == 200

    everything = await call(front.mcp, "unshare_article", slug=slug)
    assert len(everything["revoked"]) == 2  # the expired one and the kept one
    assert (await front.http.get(kept)).status_code == 404
    assert (await front.http.get(other)).status_code == 200


async def test_a_deleted_article_takes_its_links_with_it_even_after_a_restore(front: Front) -> None:
    slug = await front.create("Short lived", "Gone soon.")
    path = await front.share(slug)
    deleted = await call(front.mcp, "delete_article", slug=slug)
    assert (await front.http.get(path)).status_code == 404
    await call(front.mcp, "restore_version", slug=slug, version=deleted["version"] - 1)
    assert (await front.http.get(path)).status_code == 404


async def test_a_link_shows_the_current_version_or_the_pinned_one(front: Front) -> None:
    slug = await front.create("Draft", "First words.")
    await call(front.mcp, "update_article", slug=slug, content="Second words.")
    current, pinned = await front.share(slug), await front.share(slug, version=1)
    await call(front.mcp, "update_article", slug=slug, title="Final", content="Third words.")

    assert (await front.http.get(current, params={"format": "md"})).text == "Third words."
    assert (await front.http.get(pinned, params={"format": "md"})).text == "First words."
    page = (await front.http.get(pinned)).text
    assert "<h1>Draft</h1>" in page and "Version 1," in page
    message = await fail(front.mcp, "share_article", slug=slug, version=9)
    assert "version: article 'draft' has no version 9" in message

    await front.db.pool.execute("DELETE FROM article_versions WHERE version = 1")  # pruned
    assert (await front.http.get(pinned)).status_code == 404


async def test_bad_requests_name_the_field_and_the_rule(front: Front) -> None:
    slug = await front.create("Anything", "Text.")
    assert "expires: must be a number and a unit" in await fail(
        front.mcp, "share_article", slug=slug, expires="soon"
    )
    assert "slug: no article has the slug 'missing'" in await fail(front.mcp, "share_article", slug="missing")
    path = await front.share(slug)
    wrong = await front.http.get(path, params={"format": "pdf"})
    assert (wrong.status_code, wrong.text) == (400, "format: must be html or md\n")


async def test_the_database_keeps_no_link_token(front: Front) -> None:
    path = await front.share(await front.create("Hashed", "Only a hash is kept."), expires="1h")
    token = path.removeprefix("/s/")
    rows = await front.db.pool.fetch("SELECT * FROM share_links")
    stored = " ".join(str(value) for row in rows for value in row.values())
    assert token not in stored and token.encode().hex() not in stored
    assert all(len(row["token_hash"]) == 32 for row in rows)
