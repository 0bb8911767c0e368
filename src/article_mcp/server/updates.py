"""Resource-updated notifications: a client subscribed to `article://{slug}` is told when that
article's embedding becomes ready, so an agent that wants to search by meaning what it just
wrote need not poll.

The statement that completes embedding tasks announces their articles on `articles_embedded`
(at commit, from whichever process the worker runs in). `ArticleUpdates.run` listens there,
checks which of those articles are now ready (every current passage has a vector), and sends
`notifications/resources/updated` for each to the clients subscribed to it, in both eras of
the protocol:

- handshake era (`resources/subscribe`, `resources/unsubscribe`): the subscriptions are kept
  here per client connection and dropped when it closes;
- 2026-07-28 (`subscriptions/listen`): events go on the server's subscription bus, and the
  SDK's listen streams deliver each to the streams that asked for its URI.

Notifications announced while the listening connection was down are lost (a notification is
a hint, never the record: `get_article` tells the embedding status).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import quote

import anyio
import structlog
from anyio.abc import TaskStatus
from mcp.server.connection import Connection
from mcp.server.context import ServerRequestContext
from mcp.server.subscriptions import InMemorySubscriptionBus, ResourceUpdated, ServerEvent
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, EmptyResult, SubscribeRequestParams, UnsubscribeRequestParams

from article_mcp.articles.reads import ArticleReads
from article_mcp.db.listener import listen
from article_mcp.errors import describe
from article_mcp.queue.tasks import EMBEDDED_CHANNEL
from article_mcp.server.sdk import client_connection

log = structlog.get_logger(__name__)

SCHEME = "article://"


def article_uri(slug: str) -> str:
    """The resource URI of the article with this slug."""
    return SCHEME + quote(slug, safe="")


def uri_spellings(slug: str) -> set[str]:
    """The URIs a client may have subscribed to for this article: quoted as the server lists
    it, and as the slug reads."""
    return {article_uri(slug), SCHEME + slug}


def check_article_uri(uri: str) -> None:
    """An MCP error naming the rule unless `uri` is `article://{slug}`."""
    slug = uri.removeprefix(SCHEME)
    if slug == uri or not slug or "/" in slug:
        rule = f"uri: only article://{{slug}} can be subscribed, not {uri!r}"
        raise MCPError(code=INVALID_PARAMS, message=rule)


class CountingBus(InMemorySubscriptionBus):
    """The SDK's in-process bus, knowing whether any listen stream is open."""

    def __init__(self) -> None:
        super().__init__()
        self.listeners = 0

    def subscribe(self, listener: Callable[[ServerEvent], None]) -> Callable[[], None]:
        unsubscribe = super().subscribe(listener)
        self.listeners += 1
        done = False

        def once() -> None:
            nonlocal done
            if not done:
                done = True
                self.listeners -= 1
                unsubscribe()

        return once


class ArticleUpdates:
    """The subscriptions of one server's clients, and the loop that tells them."""

    def __init__(self, reads: ArticleReads, dsn: str | None) -> None:
        """`dsn` is where LISTEN works; None (a pooler in transaction mode, no
        DATABASE_DIRECT_URL): subscriptions are accepted, and nothing is ever told."""
        self._reads = reads
        self._dsn = dsn
        self.bus = CountingBus()
        self._connections: dict[str, set[Connection]] = {}  # URI -> subscribed connections
        self._uris: dict[Connection, set[str]] = {}  # connection -> its subscribed URIs
        self._heard: set[int] = set()
        self._news = anyio.Event()

    # -- handshake-era subscriptions ------------------------------------------------------

    async def subscribe(self, ctx: ServerRequestContext[Any], params: SubscribeRequestParams) -> EmptyResult:
        """`resources/subscribe`: an article, whether or not it exists yet."""
        check_article_uri(params.uri)
        connection = client_connection(ctx.session)
        if connection not in self._uris:
            self._uris[connection] = set()
            connection.exit_stack.callback(self._forget, connection)
        self._uris[connection].add(params.uri)
        self._connections.setdefault(params.uri, set()).add(connection)
        return EmptyResult()

    async def unsubscribe(
        self, ctx: ServerRequestContext[Any], params: UnsubscribeRequestParams
    ) -> EmptyResult:
        """`resources/unsubscribe`: a URI never subscribed is no error."""
        connection = client_connection(ctx.session)
        self._uris.get(connection, set()).discard(params.uri)
        self._drop(params.uri, connection)
        return EmptyResult()

    def subscribers(self, uri: str) -> int:
        """How many client connections are subscribed to this URI."""
        return len(self._connections.get(uri, ()))

    def _forget(self, connection: Connection) -> None:
        """The connection closed: drop all its subscriptions."""
        for uri in self._uris.pop(connection, set()):
            self._drop(uri, connection)

    def _drop(self, uri: str, connection: Connection) -> None:
        subscribed = self._connections.get(uri)
        if subscribed is not None:
            subscribed.discard(connection)
            if not subscribed:
                del self._connections[uri]

    # -- telling them ---------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Listen for completed embeddings and tell subscribers, forever; reports started once
        listening (at once when semantic search is off: nothing is ever embedded)."""
        if self._reads.model_id is None:
            task_status.started()
            return
        if self._dsn is None:
            log.warning(
                "resource_updates_off",
                reason="DATABASE_POOL_MODE=transaction without DATABASE_DIRECT_URL: no LISTEN, "
                "so subscribed clients are not told when an article's embeddings are ready",
            )
            task_status.started()
            return
        dsn = self._dsn
        listening = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._tell_loop)
            tg.start_soon(partial(listen, dsn, EMBEDDED_CHANNEL, self._hear, on_connect=listening.set))
            await listening.wait()
            task_status.started()

    def _hear(self, payload: str) -> None:
        """Gather the articles a notification names; the loop checks them (asyncpg calls this
        synchronously, so it only records)."""
        try:
            model, _, ids = payload.partition(":")
            articles = {int(i) for i in ids.split(",")}
            wanted = int(model) == self._reads.model_id
        except ValueError:
            log.warning("embedded_notification_unreadable", payload=payload[:200])
            return
        if wanted and self._anyone_listening():
            self._heard |= articles
            self._news.set()

    def _anyone_listening(self) -> bool:
        return bool(self._connections) or self.bus.listeners > 0

    async def _tell_loop(self) -> None:
        while True:
            await self._news.wait()
            # No await between taking the articles and renewing the event: nothing is missed.
            self._news = anyio.Event()
            articles, self._heard = self._heard, set()
            try:
                await self.tell(articles)
            except Exception as exc:
                # A lost database costs these notifications, never the server.
                log.warning("resource_updates_failed", articles=len(articles), error=describe(exc))

    async def tell(self, article_ids: set[int]) -> None:
        """Send resource-updated for those of these articles that are ready now."""
        for slug in await self._reads.ready_slugs(sorted(article_ids)):
            for uri in uri_spellings(slug):
                await self.bus.publish(ResourceUpdated(uri=uri))
                for connection in list(self._connections.get(uri, ())):
                    await connection.send_resource_updated(uri)
