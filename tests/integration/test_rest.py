"""The REST API on the real HTTP app (uvicorn on loopback, real database): every endpoint,
If-Match, problem details for each refusal, scopes, and the same messages as the MCP tools."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client

from article_mcp.access.principals import Principal, Scope
from article_mcp.access.tokens import create_token
from article_mcp.db.pool import pooled_connection
from article_mcp.server.app import create_server
from article_mcp.server.http import max_body_size
from tests.conftest import make_settings
from tests.support.mcp_calls import error_text
from tests.support.rest_server import RestServer, as_principal, serve_rest

pytestmark = pytest.mark.anyio

TOKEN = "t0ken-for-the-rest-tests-only-Xq9Z"
PROBLEM_JSON = "application/problem+json"


@pytest.fixture
async def rest(database_url: str, tmp_path: Path) -> AsyncIterator[RestServer]:
    settings = make_settings(
        database_url, article_mcp_data_dir=tmp_path / "data", semantic_search_enabled=False
    )
    async with serve_rest(settings) as server:
        yield server


@pytest.fixture
def api(rest: RestServer) -> httpx.AsyncClient:
    return rest.client


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The RFC 9457 problem a refusal answered, checked for its required members."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    return body


async def create(api: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await api.post("/api/articles", json={"title": "Zebra notes", "content": "Stripes.", **fields})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_an_article_through_every_endpoint(api: httpx.AsyncClient) -> None:
    response = await api.post("/api/articles", json={"title": "Test", "content": "Test content"})
    assert response.status_code == 201
    assert response.headers["location"] == "/api/articles/test"
    assert response.headers["etag"] == '"1"'
    assert (response.json()["slug"], response.json()["embedding_status"]) == ("test", "disabled")

    got = await api.get(response.headers["location"])
    assert (got.json()["content"], got.headers["etag"]) == ("Test content", '"1"')
    listed = (await api.get("/api/articles")).json()
    assert ([a["slug"] for a in listed["articles"]], listed["total"]) == (["test"], 1)

    patched = await api.patch("/api/articles/test", json={"content": "New content", "tags": ["a"]})
    assert (patched.json()["changed"], patched.headers["etag"]) == (["content", "tags"], '"2"')
    # PUT replaces: the tags left out are gone, the folder given is set.
    put = await api.put("/api/articles/test", json={"title": "Test", "content": "New content", "folder": "f"})
    assert (put.json()["changed"], put.json()["tags"], put.json()["folder"]) == (["folder", "tags"], [], "f")

    # Slugs keep letters of any script; the Location is percent-encoded.
    other = await api.post("/api/articles", json={"title": "Zürich \U000184a2", "content": "x"})
    assert other.headers["location"] == "/api/articles/z%C3%BCrich-%F0%98%92%A2"
    assert (await api.get(other.headers["location"])).json()["title"] == "Zürich \U000184a2"

    deleted = await api.delete("/api/articles/test", params={"message": "done"})
    assert (deleted.status_code, deleted.json()["version"]) == (200, 4)
    problem(await api.get("/api/articles/test"), 404)


async def test_if_match_guards_every_write(api: httpx.AsyncClient) -> None:
    await create(api)
    stale = {"If-Match": '"7"'}
    for method, path, body in [
        ("PUT", "/api/articles/zebra-notes", {"title": "Zebra notes", "content": "Other."}),
        ("PATCH", "/api/articles/zebra-notes", {"content": "Other."}),
        ("DELETE", "/api/articles/zebra-notes", None),
        ("POST", "/api/articles/zebra-notes/versions/1/restore", None),
    ]:
        refused = problem(await api.request(method, path, json=body, headers=stale), 412)
        assert refused["current_version"] == 1
        assert "at version 1, not 7" in refused["detail"]
    current = await api.get("/api/articles/zebra-notes")
    assert (current.json()["version"], current.json()["content"]) == (1, "Stripes.")

    ok = await api.patch("/api/articles/zebra-notes", json={"content": "Other."}, headers={"If-Match": '"1"'})
    assert ok.headers["etag"] == '"2"'
    anyway = await api.patch(
        "/api/articles/zebra-notes", json={"content": "Third."}, headers={"If-Match": "*"}
    )
    assert anyway.headers["etag"] == '"3"'
    weak = problem(await api.delete("/api/articles/zebra-notes", headers={"If-Match": 'W/"3"'}), 400)
    assert weak["errors"][0]["field"] == "If-Match"


async def test_versions_and_restore(api: httpx.AsyncClient) -> None:
    await create(api)
    await api.patch("/api/articles/zebra-notes", json={"content": "Stripes and manes."})
    page = (await api.get("/api/articles/zebra-notes/versions")).json()
    assert [(v["version"], v["author"]) for v in page["versions"]] == [(2, "rest"), (1, "rest")]
    first = (await api.get("/api/articles/zebra-notes/versions/1")).json()
    assert first["content"] == "Stripes."
    diff = (await api.get("/api/articles/zebra-notes/versions/1", params={"diff_against": "current"})).json()
    assert "+Stripes." in diff["diff"]
    problem(await api.get("/api/articles/zebra-notes/versions/9"), 404)

    restored = await api.post("/api/articles/zebra-notes/versions/1/restore", params={"message": "undo"})
    assert (restored.json()["version"], restored.headers["etag"]) == (3, '"3"')
    assert (await api.get("/api/articles/zebra-notes")).json()["content"] == "Stripes."

    # A deleted article comes back; but not while another article holds its slug (409).
    await api.delete("/api/articles/zebra-notes")
    await create(api)
    taken = problem(await api.post("/api/articles/zebra-notes/versions/1/restore?deleted=true"), 409)
    assert "now the slug of another article" in taken["detail"]
    await api.delete("/api/articles/zebra-notes", params={"purge": "true"})
    back = await api.post("/api/articles/zebra-notes/versions/3/restore")
    assert back.status_code == 200
    assert (await api.get("/api/articles/zebra-notes")).json()["content"] == "Stripes."


async def test_listing_filters_by_folder_and_tag_and_pages_with_a_cursor(api: httpx.AsyncClient) -> None:
    for n in range(3):
        await create(api, title=f"Guide {n}", folder="guides/python", tags=["py"] if n else [])
    await create(api, title="Elsewhere", folder="misc", tags=["py"])
    tagged = (await api.get("/api/articles", params={"folder": "guides", "tag": "py"})).json()
    assert sorted(a["slug"] for a in tagged["articles"]) == ["guide-1", "guide-2"]
    first = (await api.get("/api/articles", params={"limit": 3})).json()
    rest = (await api.get("/api/articles", params={"limit": 3, "cursor": first["next_offset"]})).json()
    assert len(first["articles"]) + len(rest["articles"]) == 4 and rest["next_offset"] is None
    folders = (await api.get("/api/folders")).json()
    assert {f["folder"]: f["total"] for f in folders["folders"]} == {
        "guides": 3,
        "guides/python": 3,
        "misc": 1,
    }


async def test_search_takes_every_semantic_search_parameter(api: httpx.AsyncClient) -> None:
    await create(api, content="Quokkas smile.", tags=["animals"])
    found = await api.get(
        "/api/search", params={"query": "quokkas", "k": 5, "tags": "animals", "passages": 1}
    )
    assert (found.json()["fallback"], [h["slug"] for h in found.json()["results"]]) == (True, ["zebra-notes"])
    assert (await api.get("/api/search", params={"query": "quokkas", "tags": "none"})).json()["results"] == []
    bad = problem(await api.get("/api/search", params={"query": "x", "k": 0, "mode": "nope"}), 400)
    assert {e["field"] for e in bad["errors"]} == {"k", "mode"}
    # Well-formed, but refused by this server's state: semantic search is off.
    off = problem(await api.get("/api/search", params={"query": "x", "mode": "semantic"}), 422)
    assert off["errors"][0]["field"] == "mode"


async def test_queue_status_and_health(api: httpx.AsyncClient) -> None:
    assert (await api.get("/api/queue/status")).json()["state"] == "disabled"
    details = (await api.get("/api/health")).json()
    assert (details["status"], details["database"], details["queue"]["status"]) == ("ok", True, "healthy")
    assert set((await api.get("/health")).json()) == {"status", "version"}


async def test_rules_read_as_the_mcp_tools_word_them(rest: RestServer) -> None:
    cases: list[tuple[dict[str, Any], int]] = [
        ({"title": "", "content": "x"}, 400),  # the schema's rule
        ({"title": "T", "content": "x", "folder": "a/../b"}, 422),  # the service's rule
        ({"title": "T", "content": "x", "tags": ["<b>"]}, 422),
    ]
    async with Client(create_server(rest.runtime.services)) as mcp:
        for body, status in cases:
            refused = problem(await rest.client.post("/api/articles", json=body), status)
            tool = await mcp.call_tool("create_article", body)
            assert tool.is_error and refused["detail"] == error_text(tool)
            field, rule = refused["errors"][0]["field"], refused["errors"][0]["rule"]
            assert f"{field}: {rule}" in refused["detail"]
    assert (await rest.client.get("/api/articles")).json()["total"] == 0


async def test_refusals_are_problems(api: httpx.AsyncClient, rest: RestServer) -> None:
    problem(await api.get("/api/articles/no-such-article"), 404)
    problem(await api.get("/api/nothing-here"), 404)
    text = await api.post("/api/articles", content=b"title=T", headers={"content-type": "text/plain"})
    assert "application/json" in problem(text, 415)["detail"]
    form = await api.post("/api/articles", data={"title": "T", "content": "x"})
    problem(form, 415)
    broken = problem(
        await api.post("/api/articles", content=b"{", headers={"content-type": "application/json"}), 400
    )
    assert broken["errors"][0]["field"] == "body"
    unknown = problem(
        await api.post("/api/articles", json={"title": "T", "content": "x", "colour": "red"}), 400
    )
    assert unknown["errors"][0]["field"] == "colour"
    # The largest article fits even with every character escaped (\u00e9: 6 bytes for 2).
    largest = "é" * (rest.runtime.settings.article_max_bytes // 2)
    escaped = json.dumps({"title": "Big", "content": largest}).encode()
    fits = await api.post("/api/articles", content=escaped, headers={"content-type": "application/json"})
    assert fits.status_code == 201, fits.text
    await api.delete("/api/articles/big", params={"purge": "true"})
    limit = max_body_size(rest.runtime.settings)
    huge = b'{"title": "T", "content": "' + b"x" * limit + b'"}'
    problem(await api.post("/api/articles", content=huge, headers={"content-type": "application/json"}), 413)
    forged = await api.get("/api/articles", headers={"Host": "attacker.example"})
    problem(forged, 421)
    wrong = problem(await api.request("TRACE", "/api/articles/x"), 405)
    assert (
        wrong
        and (await api.request("TRACE", "/api/articles/x")).headers["allow"] == "DELETE, GET, PATCH, PUT"
    )
    assert (await api.get("/api/articles")).json()["total"] == 0


async def test_a_patch_with_nothing_to_change_is_refused_as_a_whole(api: httpx.AsyncClient) -> None:
    await create(api)
    refused = problem(await api.patch("/api/articles/zebra-notes", json={}), 422)
    assert refused["errors"][0]["field"] == "arguments"


async def test_a_token_is_needed_and_refusals_stay_problems(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(
        database_url, article_mcp_data_dir=tmp_path / "data", semantic_search_enabled=False, auth_token=TOKEN
    )
    async with serve_rest(settings) as server:
        anonymous = server.client
        refused = problem(await anonymous.get("/api/articles"), 401)
        assert anonymous and TOKEN not in str(refused)
        assert (await anonymous.get("/api/articles")).headers["www-authenticate"].startswith("Bearer")
        assert (await anonymous.get("/health")).status_code == 200
        assert (await anonymous.get("/openapi.json")).status_code == 200
        headers = {"Authorization": f"Bearer {TOKEN}"}
        assert (
            await anonymous.post("/api/articles", json={"title": "T", "content": "x"}, headers=headers)
        ).status_code == 201
        # Guessing from one address is slowed down: 429 with Retry-After, as a problem too.
        statuses = [
            (await anonymous.get("/api/articles", headers={"Authorization": "Bearer guess"})).status_code
            for _ in range(7)
        ]
        assert statuses[-1] == 429
        slowed = await anonymous.get("/api/articles", headers=headers)
        assert int(problem(slowed, 429) and slowed.headers["retry-after"]) >= 1


async def test_scopes_decide_who_reads_and_who_writes(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(
        database_url, article_mcp_data_dir=tmp_path / "data", semantic_search_enabled=False
    )
    async with serve_rest(settings, wrap=as_principal(Principal("writer-bot", Scope.WRITE))) as writer:
        await create(writer.client)
        versions = (await writer.client.get("/api/articles/zebra-notes/versions")).json()
        assert versions["versions"][0]["author"] == "writer-bot"
    async with serve_rest(settings, wrap=as_principal(Principal("reader", Scope.READ))) as reader:
        api = reader.client
        assert (await api.get("/api/articles/zebra-notes")).status_code == 200
        assert (await api.get("/api/queue/status")).status_code == 200
        for method, path in [
            ("POST", "/api/articles"),
            ("PATCH", "/api/articles/zebra-notes"),
            ("PUT", "/api/articles/zebra-notes"),
            ("DELETE", "/api/articles/zebra-notes"),
            ("POST", "/api/articles/zebra-notes/versions/1/restore"),
        ]:
            body = {"title": "T", "content": "x"} if method in ("POST", "PUT") else {"content": "y"}
            refused = problem(await api.request(method, path, json=body), 403)
            assert "read" in refused["detail"] and "write" in refused["detail"]
        assert (await api.get("/api/articles/zebra-notes")).json()["version"] == 1


async def test_the_openapi_document_is_generated_from_the_models(api: httpx.AsyncClient) -> None:
    document = (await api.get("/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    assert {"/api/articles", "/api/articles/{slug}", "/api/search", "/api/queue/status"} <= document[
        "paths"
    ].keys()
    get_article = document["paths"]["/api/articles/{slug}"]["get"]["responses"]
    assert get_article["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Article"
    }
    assert get_article["404"]["content"][PROBLEM_JSON]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert document["paths"]["/api/search"]["get"]["operationId"] == "semantic_search"
    search = {p["name"] for p in document["paths"]["/api/search"]["get"]["parameters"]}
    assert search >= {
        "query",
        "k",
        "mode",
        "folder",
        "tags",
        "min_score",
        "multi_query",
        "diversity",
        "passages",
    }
    assert (await api.get("/docs")).status_code == 200


async def test_access_tokens_scope_and_name_rest_requests(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(
        database_url,
        article_mcp_data_dir=tmp_path / "data",
        semantic_search_enabled=False,
        auth_token=TOKEN,
        http_rate_limit_per_minute=20,
    )
    async with serve_rest(settings) as server:
        async with pooled_connection(server.runtime.db) as conn:
            reader = (await create_token(conn, "dashboard", Scope.READ)).token
            writer = (await create_token(conn, "ci-bot", Scope.WRITE)).token
        api = server.client
        as_writer = {"Authorization": f"Bearer {writer}"}
        as_reader = {"Authorization": f"Bearer {reader}"}
        body = {"title": "Zebra notes", "content": "Stripes."}
        assert (await api.post("/api/articles", json=body, headers=as_writer)).status_code == 201
        versions = await api.get("/api/articles/zebra-notes/versions", headers=as_reader)
        assert versions.json()["versions"][0]["author"] == "ci-bot"
        refused = problem(await api.post("/api/articles", json=body, headers=as_reader), 403)
        assert "read" in refused["detail"]
        # The per-token allowance: past it, 429 with Retry-After, as a problem; others go on.
        statuses = [(await api.get("/api/folders", headers=as_reader)).status_code for _ in range(25)]
        assert statuses.count(429) >= 1
        limited = await api.get("/api/folders", headers=as_reader)
        assert int(problem(limited, 429) and limited.headers["retry-after"]) >= 1
        assert (await api.get("/api/folders", headers=as_writer)).status_code == 200


async def test_share_links_are_made_and_revoked_over_rest(api: httpx.AsyncClient) -> None:
    await create(api, content="Stripes <script>alert(1)</script>.")
    made = await api.post("/api/articles/zebra-notes/shares", json={"expires": "7d"})
    assert made.status_code == 201, made.text
    link = made.json()
    assert link["slug"] == "zebra-notes" and link["expires_at"] is not None
    path = httpx.URL(link["url"]).path
    page = await api.get(path)
    assert page.status_code == 200 and "Zebra notes" in page.text
    assert "<script>" not in page.text
    problem(await api.post("/api/articles/zebra-notes/shares", json={"expires": "soon"}), 422)
    problem(await api.post("/api/articles/no-such-article/shares"), 404)
    revoked = await api.delete("/api/articles/zebra-notes/shares", params={"share_id": link["id"]})
    assert revoked.status_code == 200 and revoked.json()["revoked"] == [link["id"]]
    assert (await api.get(path)).status_code == 404


async def test_a_read_token_cannot_share(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(
        database_url, article_mcp_data_dir=tmp_path / "data", semantic_search_enabled=False
    )
    async with serve_rest(settings, wrap=as_principal(Principal("reader", Scope.READ))) as reader:
        refused = problem(await reader.client.post("/api/articles/zebra-notes/shares"), 403)
        assert "write" in refused["detail"]
