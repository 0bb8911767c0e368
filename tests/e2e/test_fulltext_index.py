"""Two servers on one database: what one writes, the other's in-memory full text finds as
soon as the write commits (the passage change log carries it across processes)."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from mcp import Client

from tests.e2e.test_serve import HttpServer, http_server, server_env
from tests.support.mcp_calls import call

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def index_loaded(server: HttpServer) -> None:
    """Wait until the server says its in-memory index is loaded (SQL answers until then)."""
    for _ in range(1200):  # at most a minute
        if any('"fulltext_index_loaded"' in line for line in server.stderr):
            return
        await anyio.sleep(0.05)
    raise AssertionError("the server never loaded its full-text index:\n" + "\n".join(server.stderr))


async def found(client: Client, query: str) -> list[str]:
    response = await call(client, "semantic_search", query=query, mode="fulltext")
    return [hit["slug"] for hit in response["results"]]


async def test_a_write_on_one_server_is_found_at_once_on_another(database_url: str, tmp_path: Path) -> None:
    env = server_env(database_url, tmp_path, LOG_LEVEL="INFO")
    async with http_server(env) as reader, http_server(env) as writer:
        await index_loaded(reader)
        async with Client(reader.url) as searching, Client(writer.url) as writing:
            await call(
                writing, "create_article", title="Okapi", content="The okapi lives in the Ituri forest."
            )
            assert await found(searching, "okapi ituri") == ["okapi"]
            await call(writing, "update_article", slug="okapi", content="A forest giraffe of the Congo.")
            assert await found(searching, "ituri") == []
            assert await found(searching, "congo giraffe") == ["okapi"]
            await call(writing, "delete_article", slug="okapi")
            assert await found(searching, "congo giraffe") == []
