"""Resource-updated notifications from a real `article-mcp serve`: over stdio with the embedding
done by a separate `article-mcp worker` process, and over streamable HTTP (the notification
rides the session's standalone stream) with the worker inside the server."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

from tests.conftest import ARTICLE_MCP, cli_env
from tests.e2e.test_serve import http_server, server_env
from tests.support.fake_providers import FakeEmbeddingServer
from tests.support.mcp_calls import call
from tests.support.resource_updates import Inbox, handshake_era

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def test_a_worker_in_another_process_makes_the_server_tell_its_subscriber(
    database_url: str, tmp_path: Path, fake_server: FakeEmbeddingServer
) -> None:
    settings = fake_server.env("ollama", embedding_model="nomic-embed-text", embedding_worker_interval=200)
    env = cli_env(DATABASE_URL=database_url, ARTICLE_MCP_DATA_DIR=tmp_path / "data", **settings)
    serve_env = {**env, "EMBEDDING_CONCURRENT_WORKERS": "0"}  # the server embeds nothing itself
    params = StdioServerParameters(command=ARTICLE_MCP[0], args=[*ARTICLE_MCP[1:], "serve"], env=serve_env)
    with Inbox() as inbox, handshake_era(), (tmp_path / "worker.log").open("ab") as log:
        async with Client(params, mode="legacy", message_handler=inbox) as client:
            await client.subscribe_resource("article://quokkas")
            created = await call(client, "create_article", title="Quokkas", content="Small and smiling.")
            assert created["embedding_status"] == "pending"
            worker = await anyio.open_process([*ARTICLE_MCP, "worker"], env=env, stdout=log, stderr=log)
            try:
                assert await inbox.next_uri() == "article://quokkas"
            finally:
                worker.terminate()
                await worker.wait()
            assert (await call(client, "get_article", slug="quokkas"))["embedding_status"] == "ready"


async def test_a_subscriber_over_streamable_http_is_told(
    database_url: str, tmp_path: Path, fake_server: FakeEmbeddingServer
) -> None:
    env = server_env(database_url, tmp_path, SEMANTIC_SEARCH_ENABLED="true", **fake_server.env("ollama"))
    with Inbox() as inbox, handshake_era():
        async with (
            http_server(env) as server,
            Client(server.url, mode="legacy", message_handler=inbox) as client,
        ):
            await client.subscribe_resource("article://narwhals")
            await call(client, "create_article", title="Narwhals", content="Long tusks.")
            assert await inbox.next_uri() == "article://narwhals"
