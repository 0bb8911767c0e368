"""The MCP server: article tools, articles as `article://{slug}` resources (with completions
and resource-updated notifications), client logging.

`create_server` builds one server over the services it is given; nothing lives at module
level, so tests build as many as they like. Bad input never kills the server: every failure
becomes an `isError` result (tools) or a JSON-RPC error (resources) with a message for a
person, naming the field and the rule; crashes are logged here with their traceback and reach
the client only as "Error executing tool <name>".
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    CallToolResult,
    CompleteRequestParams,
    InputRequiredResult,
    ListResourcesResult,
    PaginatedRequestParams,
    Resource,
    SetLevelRequestParams,
    SubscribeRequestParams,
    ToolAnnotations,
    UnsubscribeRequestParams,
)
from pydantic import ValidationError

from article_mcp import __version__
from article_mcp.articles.rules import MAX_BIGINT
from article_mcp.articles.service import ArticleService
from article_mcp.config import Settings
from article_mcp.db.pool import Database
from article_mcp.errors import (
    ArticleMcpError,
    InvalidInputError,
    NotFoundError,
    describe,
)
from article_mcp.search.service import SearchService
from article_mcp.server.arguments import check_arguments
from article_mcp.server.client_log import ClientLog
from article_mcp.server.completions import ArgumentCompletions
from article_mcp.server.history_tools import HistoryTools
from article_mcp.server.scopes import ScopeGate
from article_mcp.server.sdk import add_request_handler
from article_mcp.server.search_tools import SearchTools
from article_mcp.server.share_tools import ShareTools
from article_mcp.server.tools import CREATE, OVERWRITE, READ, ArticleTools, QueueTools
from article_mcp.server.updates import ArticleUpdates, article_uri

INSTRUCTIONS = """\
Markdown articles in folders, searchable by words and by meaning.
- Articles are addressed by `slug` (returned by create_article and every listing or search).
- search_articles finds words in titles and text the moment an article is written;
  semantic_search finds passages by meaning once the article is embedded (embedding_status
  'ready'); its default hybrid mode also finds just-written articles by their words.
- Writes return at once; embedding runs in the background (queue_status shows the queue).
- Articles are also resources: article://{slug}. Subscribe to one to be told
  (notifications/resources/updated) when its embedding is ready, instead of polling.
- Every write is a version: list_versions and get_version read the history (with diffs),
  restore_version undoes a change or a delete. Pass the `version` you read as
  expected_version to update_article, delete_article or restore_version so that you never
  overwrite another writer's change unseen.
"""

RESOURCE_PAGE = 100
_CURSOR = re.compile(r"[0-9]{1,19}")


def validation_rules(errors: Iterable[Mapping[str, Any]], *, skip: int = 0) -> list[tuple[str, str]]:
    """(field, rule) of each of pydantic's errors, the rule as a person reads it; `skip` drops
    that many leading parts of the location (REST's "body", "query", "header")."""
    rules = []
    for error in errors:
        if error["type"] == "json_invalid":
            rules.append(("body", f"not valid JSON ({error.get('ctx', {}).get('error', 'cannot parse')})"))
            continue
        parts = error["loc"][skip:] or error["loc"][:1]  # a whole body missing: "body"
        where = ".".join(str(part) for part in parts) or "arguments"
        rules.append((where, f"{error['msg'][:1].lower()}{error['msg'][1:]}"))
    return rules


def describe_failure(exc: BaseException) -> str | None:
    """The message a client sees for an anticipated failure; None for a crash."""
    if isinstance(exc, ValidationError):
        rules = validation_rules(exc.errors())
        return "invalid input: " + "; ".join(f"{where}: {rule}" for where, rule in rules)
    if isinstance(exc, ArticleMcpError):
        return describe(exc)
    return None


class ArticleServer(MCPServer[Any]):
    """MCPServer whose tool failures read as the domain's messages."""

    _input_schemas: dict[str, dict[str, Any]] | None = None
    # Its clients' subscriptions; `run` it beside the server (see create_server).
    updates: ArticleUpdates

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        """Call a tool; argument and domain errors become one readable line each."""
        schema = (await self._schemas()).get(name)
        if schema is not None:  # an unknown tool is the SDK's to refuse
            try:
                check_arguments(arguments, schema)
            except InvalidInputError as exc:
                raise ToolError(describe(exc)) from exc
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            message = describe_failure(exc.__cause__) if exc.__cause__ else None
            if message is None:
                raise
            raise ToolError(message) from exc.__cause__

    async def _schemas(self) -> dict[str, dict[str, Any]]:
        """Each tool's input schema, read once (every tool is added before the server serves)."""
        if self._input_schemas is None:
            self._input_schemas = {tool.name: tool.input_schema for tool in await self.list_tools()}
        return self._input_schemas


@dataclass(frozen=True, slots=True)
class Services:
    """What the tools call: one service each, built once per process."""

    settings: Settings
    db: Database
    articles: ArticleService
    search: SearchService


def create_server(services: Services) -> ArticleServer:
    """The MCP server over these services, with its tools, resources (completed, subscribable)
    and logging. Its notifications go out while `server.updates.run()` runs beside it."""
    updates = ArticleUpdates(services.articles, services.db.listen_dsn)
    server = ArticleServer(
        name="article-mcp",
        title="Article store",
        version=__version__,
        instructions=INSTRUCTIONS,
        subscriptions=updates.bus,
        middleware=[ScopeGate()],
    )
    server.updates = updates
    client_log = ClientLog()
    add_request_handler(server, "logging/setLevel", SetLevelRequestParams, client_log.set_level)
    _add_tools(server, services, client_log)
    _add_resources(server, services.articles)
    _add_history(server, HistoryTools(services.articles, client_log))
    _add_shares(server, ShareTools(services.db, services.settings.public_url))
    add_request_handler(server, "resources/subscribe", SubscribeRequestParams, updates.subscribe)
    add_request_handler(server, "resources/unsubscribe", UnsubscribeRequestParams, updates.unsubscribe)
    completions = ArgumentCompletions(services.articles)
    add_request_handler(server, "completion/complete", CompleteRequestParams, completions.complete)
    return server


def _add_tools(server: ArticleServer, services: Services, client_log: ClientLog) -> None:
    articles = ArticleTools(services.articles, client_log)
    search = SearchTools(services.search)
    queue = QueueTools(services.settings, services.db)
    limit = f"\n\nContent may hold up to {services.settings.article_max_bytes} bytes of UTF-8."
    table: list[tuple[Callable[..., Any], str, ToolAnnotations, str]] = [
        (articles.create_article, "Create article", CREATE, limit),
        (articles.update_article, "Update article", OVERWRITE, limit),
        (articles.delete_article, "Delete article", OVERWRITE, ""),
        (articles.get_article, "Read article", READ, ""),
        (articles.list_articles, "List articles", READ, ""),
        (articles.list_folders, "List folders", READ, ""),
        (articles.search_articles, "Search articles by words", READ, ""),
        (search.semantic_search, "Search articles by meaning", READ, ""),
        (queue.queue_status, "Embedding queue status", READ, ""),
    ]
    for fn, title, hints, extra in table:
        description = inspect.cleandoc(fn.__doc__ or "") + extra
        server.add_tool(fn, title=title, annotations=hints, description=description)


def _add_history(server: ArticleServer, tools: HistoryTools) -> None:
    _add_documented(
        server,
        [
            (tools.list_versions, "List an article's versions", READ),
            (tools.get_version, "Read a version of an article", READ),
            (tools.restore_version, "Restore a version of an article", OVERWRITE),
        ],
    )
    resources: list[tuple[str, str, str, str, Callable[..., Any]]] = [
        (
            "article://{slug}/versions",
            "article-versions",
            "The article's newest versions (up to 100) as JSON, as list_versions returns them.",
            "application/json",
            tools.versions_resource,
        ),
        (
            "article://{slug}/versions/{n}",
            "article-version",
            "The markdown content of version n of the article.",
            "text/markdown",
            tools.version_resource,
        ),
    ]
    for uri, name, description, mime_type, read in resources:
        title = name.replace("-", " ").capitalize()
        server.resource(uri, name=name, title=title, description=description, mime_type=mime_type)(read)


def _add_shares(server: ArticleServer, tools: ShareTools) -> None:
    _add_documented(
        server,
        [
            (tools.share_article, "Share an article by a public link", CREATE),
            (tools.unshare_article, "Revoke an article's share links", OVERWRITE),
        ],
    )


ToolRow = tuple[Callable[..., Any], str, ToolAnnotations]


def _add_documented(server: ArticleServer, table: list[ToolRow]) -> None:
    """Add tools described by their docstrings."""
    for fn, title, hints in table:
        server.add_tool(fn, title=title, annotations=hints, description=inspect.cleandoc(fn.__doc__ or ""))


def _add_resources(server: ArticleServer, articles: ArticleService) -> None:
    async def read_article(slug: str) -> str:
        try:
            article = await articles.get(slug)
        except NotFoundError as exc:
            raise ResourceNotFoundError(exc.message) from exc
        return article.content

    server.resource(
        "article://{slug}",
        name="article",
        title="Article",
        description="The markdown content of the article with this slug.",
        mime_type="text/markdown",
    )(read_article)

    async def list_resources(
        ctx: ServerRequestContext[Any], params: PaginatedRequestParams
    ) -> ListResourcesResult:
        offset = _cursor_offset(params.cursor)
        page = await articles.list(limit=RESOURCE_PAGE, offset=offset)
        resources = [
            Resource(
                uri=article_uri(item.slug),
                name=item.slug,
                title=item.title,
                description=f"folder '{item.folder}', version {item.version}" if item.folder else None,
                mime_type="text/markdown",
                size=item.size_bytes,
            )
            for item in page.articles
        ]
        cursor = None if page.next_offset is None else str(page.next_offset)
        return ListResourcesResult(resources=resources, next_cursor=cursor)

    add_request_handler(server, "resources/list", PaginatedRequestParams, list_resources)


def _cursor_offset(cursor: str | None) -> int:
    """The offset a cursor this server gave out stands for (ASCII digits, within bigint)."""
    if cursor is None:
        return 0
    if not _CURSOR.fullmatch(cursor) or int(cursor) > MAX_BIGINT:
        raise MCPError(code=INVALID_PARAMS, message="cursor: not a cursor this server gave out")
    return int(cursor)
