"""Resource-updated notifications through real MCP clients, in-process, against the real
database and a real worker pool: a subscribed client is told when its article's embedding is
ready, in both eras of the protocol (resources/subscribe and subscriptions/listen); an
unsubscribed article, or one unsubscribed again, is never announced; subscriptions end with
the client's connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio
import pytest
from mcp import Client, MCPError
from mcp.client.subscriptions import ResourceUpdated

from article_mcp.config import Settings
from article_mcp.db.pool import Database
from article_mcp.server.app import ArticleServer, create_server
from tests.integration.test_server import services
from tests.support.fake_providers import FakeEmbeddingServer
from tests.support.mcp_calls import call
from tests.support.resource_updates import Inbox, handshake_era
from tests.support.worker_runs import SETTLE_LIMIT, provider_and_model, running_pool, worker_settings

pytestmark = pytest.mark.anyio


@dataclass
class Served:
    """A server whose notifications are running, and the settings its worker pool takes."""

    server: ArticleServer
    settings: Settings


@pytest.fixture
async def served(db: Database, database_url: str, fake_server: FakeEmbeddingServer) -> AsyncIterator[Served]:
    settings = worker_settings(database_url, fake_server)
    async with provider_and_model(settings, db) as (_, model), anyio.create_task_group() as tg:
        server = create_server(services(settings, db, model.id))
        await tg.start(server.updates.run)
        yield Served(server, settings)
        tg.cancel_scope.cancel()


async def test_a_subscribed_client_is_told_when_its_article_is_embedded(served: Served, db: Database) -> None:
    with Inbox() as inbox, handshake_era():
        async with Client(served.server, mode="legacy", message_handler=inbox) as client:
            resources = client.server_capabilities.resources
            assert resources is not None and resources.subscribe is True
            # Subscribing before the article exists: an agent may subscribe, then write.
            await client.subscribe_resource("article://quokkas")
            await client.subscribe_resource("article://aardvarks")
            await client.unsubscribe_resource("article://aardvarks")
            await client.unsubscribe_resource("article://never-subscribed")  # no error
            assert served.server.updates.subscribers("article://quokkas") == 1

            # Aardvarks first: the worker embeds it first (or in the same batch, announced first
            # in slug order), so a notification for it would arrive before the one for quokkas.
            await call(client, "create_article", title="Aardvarks", content="Long snouts.")
            created = await call(client, "create_article", title="Quokkas", content="Small and smiling.")
            assert created["embedding_status"] == "pending"
            async with running_pool(served.settings, db):
                assert await inbox.next_uri() == "article://quokkas"
                article = await call(client, "get_article", slug="quokkas")
                assert article["embedding_status"] == "ready"

                # An edit re-embeds the article, and the client hears of it again.
                await call(client, "update_article", slug="quokkas", content="Small, smiling, nocturnal.")
                assert await inbox.next_uri() == "article://quokkas"
            assert inbox.waiting == 0
        # The connection closed: its subscriptions went with it.
        assert served.server.updates.subscribers("article://quokkas") == 0


async def test_a_listening_client_is_told_when_its_article_is_embedded(served: Served, db: Database) -> None:
    async with Client(served.server) as client:  # 2026-07-28: subscriptions/listen
        resources = client.server_capabilities.resources
        assert resources is not None and resources.subscribe is True
        async with client.listen(resource_subscriptions=["article://über-vektoren"]) as events:
            await call(client, "create_article", title="Aardvarks", content="Long snouts.")
            await call(client, "create_article", title="Über Vektoren", content="Richtung und Länge.")
            async with running_pool(served.settings, db):
                with anyio.fail_after(SETTLE_LIMIT):
                    event = await anext(aiter(events))
        assert event == ResourceUpdated(uri="article://über-vektoren")


async def test_only_article_resources_can_be_subscribed(served: Served) -> None:
    with handshake_era():
        async with Client(served.server, mode="legacy") as client:
            for uri in ("note://quokkas", "article://", "article://quokkas/versions"):
                with pytest.raises(MCPError, match=r"uri: only article://\{slug\} can be subscribed"):
                    await client.subscribe_resource(uri)
            assert await call(client, "list_folders")  # the server carries on
