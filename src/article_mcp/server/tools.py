"""The MCP tools: typed arguments with limits and descriptions, each calling one service.

The argument types below become the tools' input schemas (semantic_search's, in
`search_tools`, are the fields of SearchRequest); the return types (pydantic models) their
output schemas. The services check every rule again (they serve the CLI too), so the schema
is the agent's guide and the service the guard.
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp_types import ToolAnnotations
from pydantic import Field

from article_mcp.articles.models import (
    Article,
    ArticleDeletion,
    ArticleMatches,
    ArticlePage,
    ArticleWrite,
    FolderList,
)
from article_mcp.articles.reads import MAX_PAGE
from article_mcp.articles.rules import (
    FOLDER_MAX_LENGTH,
    MAX_BIGINT,
    MAX_TAGS,
    MESSAGE_MAX_LENGTH,
    QUERY_MAX_LENGTH,
    TAG_MAX_LENGTH,
    TITLE_MAX_LENGTH,
)
from article_mcp.articles.service import ArticleService
from article_mcp.articles.slugs import MAX_SLUG_LENGTH
from article_mcp.config import Settings
from article_mcp.db.pool import Database, pooled_connection
from article_mcp.embeddings.status import QueueAndModels, queue_and_models
from article_mcp.server.client_log import ClientLog
from article_mcp.server.identity import current_principal

Slug = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_SLUG_LENGTH,
        description="The article's slug, as create_article, list_articles or a search returned it.",
    ),
]
Title = Annotated[
    str, Field(min_length=1, max_length=TITLE_MAX_LENGTH, description="The title: one line of text.")
]
Content = Annotated[str, Field(description="The article's markdown text (UTF-8, size limited).")]
Folder = Annotated[
    str,
    Field(
        max_length=FOLDER_MAX_LENGTH,
        description="Folder path like 'guides/python': parts of letters, digits, spaces, - _ . "
        "joined by '/', no leading or trailing '/', no '..'. '' is the root.",
    ),
]
FolderFilter = Annotated[
    str,
    Field(
        max_length=FOLDER_MAX_LENGTH,
        description="Only articles in this folder and its subfolders; '' (the default) for all.",
    ),
]
Tags = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=TAG_MAX_LENGTH)]],
    Field(max_length=MAX_TAGS, description=f"Up to {MAX_TAGS} tags; duplicates are dropped."),
]
NoRag = Annotated[
    bool,
    Field(
        strict=True,
        description="True: keep the article out of embeddings and semantic search (still found by "
        "search_articles).",
    ),
]
Message = Annotated[
    str | None,
    Field(
        max_length=MESSAGE_MAX_LENGTH,
        description="Why you make this change, in a line: kept with the version (list_versions shows it).",
    ),
]
ExpectedVersion = Annotated[
    int | None,
    Field(
        ge=1,
        description="The article's `version` when you read it: if it has changed since, nothing is "
        "written and the error names the current version. Omit to write regardless.",
    ),
]
NewSlug = Annotated[
    str | None,
    Field(max_length=MAX_SLUG_LENGTH, description="Rename: the article's new slug (lowercase, hyphens)."),
]
Limit = Annotated[int, Field(ge=1, le=MAX_PAGE, description=f"How many results, 1 to {MAX_PAGE}.")]
Offset = Annotated[
    int, Field(ge=0, le=MAX_BIGINT, description="How many articles to skip (paging: next_offset).")
]
Query = Annotated[str, Field(min_length=1, max_length=QUERY_MAX_LENGTH)]
SearchQuery = Annotated[
    str,
    Field(
        min_length=1,
        max_length=QUERY_MAX_LENGTH,
        description='Words to find in titles (substring) and text (web-search syntax: "exact phrase", '
        "or, -excluded).",
    ),
]


def _hints(*, read_only: bool, destructive: bool = False, idempotent: bool = True) -> ToolAnnotations:
    return ToolAnnotations(
        read_only_hint=read_only,
        destructive_hint=destructive,
        idempotent_hint=idempotent,
        open_world_hint=False,
    )


READ = _hints(read_only=True)
CREATE = _hints(read_only=False, idempotent=False)
OVERWRITE = _hints(read_only=False, destructive=True)


class ArticleTools:
    """The article tools, bound to one ArticleService."""

    def __init__(self, articles: ArticleService, client_log: ClientLog) -> None:
        self._articles = articles
        self._log = client_log

    async def create_article(
        self,
        title: Title,
        content: Content,
        folder: Folder = "",
        tags: Tags | None = None,
        no_rag: NoRag = False,
        message: Message = None,
        *,
        ctx: Context[Any, Any],
    ) -> ArticleWrite:
        """Create a markdown article. Its slug is made from the title (kept if the title changes later).

        Returns at once: the article is saved and full-text searchable immediately, and its
        embedding is queued (embedding_status 'pending' with embedding_task_id) unless no_rag.
        """
        written = await self._articles.create(
            title,
            content,
            folder=folder,
            tags=tags or [],
            no_rag=no_rag,
            message=message,
            author=author(ctx),
        )
        await self._log.send(ctx, "info", f"created {written.slug!r}; {embedding_note(written)}")
        return written

    async def update_article(
        self,
        slug: Slug,
        title: Title | None = None,
        content: Content | None = None,
        folder: Folder | None = None,
        tags: Tags | None = None,
        no_rag: NoRag | None = None,
        new_slug: NewSlug = None,
        expected_version: ExpectedVersion = None,
        message: Message = None,
        *,
        ctx: Context[Any, Any],
    ) -> ArticleWrite:
        """Change an article: only the fields given change. The slug stays unless new_slug is given.

        Every change is a new version (list_versions; restore_version undoes it); a new title
        or content also queues a new embedding. `changed` lists what actually changed. Pass
        the version you read as expected_version so that another writer's change is never
        overwritten unseen.
        """
        written = await self._articles.update(
            slug,
            title=title,
            content=content,
            folder=folder,
            tags=tags,
            no_rag=no_rag,
            new_slug=new_slug,
            expected_version=expected_version,
            message=message,
            author=author(ctx),
        )
        changed = ", ".join(written.changed) or "nothing"
        await self._log.send(ctx, "info", f"updated {written.slug!r} ({changed}); {embedding_note(written)}")
        return written

    async def delete_article(
        self,
        slug: Slug,
        purge: Annotated[
            bool,
            Field(description="True: also remove the article's history, so it cannot be restored."),
        ] = False,
        expected_version: ExpectedVersion = None,
        message: Message = None,
        *,
        ctx: Context[Any, Any],
    ) -> ArticleDeletion:
        """Delete an article with its passages and its embedding tasks still to run.

        Its history stays: restore_version brings it back under its slug (the deletion is a
        version too). purge=true removes the history as well; on the slug of an article
        already deleted, it removes the history that article kept.
        """
        deleted = await self._articles.delete(
            slug, purge=purge, expected_version=expected_version, message=message, author=author(ctx)
        )
        kept = (
            "history purged"
            if deleted.version is None
            else f"history kept (deletion is version {deleted.version})"
        )
        await self._log.send(
            ctx,
            "info",
            f"deleted {deleted.slug!r}; {kept}; cancelled {deleted.cancelled_tasks} embedding task(s)",
        )
        return deleted

    async def get_article(self, slug: Slug) -> Article:
        """Read a whole article: content, folder, tags, version and embedding status."""
        return await self._articles.get(slug)

    async def list_articles(
        self, folder: FolderFilter = "", limit: Limit = 20, offset: Offset = 0
    ) -> ArticlePage:
        """List articles, most recently changed first, without their content.

        A folder includes its subfolders; page with offset = next_offset.
        """
        return await self._articles.list(folder, limit=limit, offset=offset)

    async def list_folders(self) -> FolderList:
        """List every folder with how many articles it holds directly and with its subfolders."""
        return await self._articles.folders()

    async def search_articles(
        self, query: SearchQuery, folder: FolderFilter = "", limit: Limit = 10
    ) -> ArticleMatches:
        """Find articles by words: in the title (substring) or the text (full text, ranked).

        Finds an article the moment it is written. For questions and meaning rather than
        exact words, use semantic_search.
        """
        return await self._articles.search(query, folder=folder, limit=limit)


def author(ctx: Context[Any, Any]) -> str | None:
    """Who a write is by: the authenticated principal's name (an access token's, AUTH_TOKEN),
    else the name the calling MCP client gave in its `clientInfo`."""
    principal = current_principal()
    if principal.authenticated:
        return principal.name
    params = ctx.request_context.session.client_params
    return None if params is None else params.client_info.name


def embedding_note(written: ArticleWrite) -> str:
    if written.embedding_task_id is None:
        return f"embedding {written.embedding_status}"
    return f"embedding {written.embedding_status} (task {written.embedding_task_id})"


class QueueTools:
    """The queue report tool."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self._settings = settings
        self._db = db

    async def queue_status(self) -> QueueAndModels:
        """Embedding queue at a glance: tasks by status and priority, oldest pending age, workers
        with their last heartbeat, throughput over the last hour, recent failures, and tokens
        per model (this hour, today, 24 hours) with their cost and the daily token budget; and
        each embedding model's state (active, building, retired), coverage, ETA and failures."""
        async with pooled_connection(self._db) as conn:
            return await queue_and_models(conn, self._settings)
