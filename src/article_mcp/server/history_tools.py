"""The version history tools (`list_versions`, `get_version`, `restore_version`) and resources
(`article://{slug}/versions`, `article://{slug}/versions/{n}`), over the article service."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceNotFoundError
from pydantic import Field

from article_mcp.articles.models import ArticleWrite, VersionDetail, VersionPage
from article_mcp.articles.rules import MAX_VERSION
from article_mcp.articles.service import ArticleService
from article_mcp.articles.versions import MAX_VERSIONS_PAGE
from article_mcp.errors import NotFoundError
from article_mcp.server.client_log import ClientLog
from article_mcp.server.tools import ExpectedVersion, Message, Slug, author, embedding_note

VersionNumber = Annotated[
    int, Field(ge=1, le=MAX_VERSION, description="A version number, as list_versions shows it.")
]
VersionsLimit = Annotated[
    int, Field(ge=1, le=MAX_VERSIONS_PAGE, description=f"How many versions, 1 to {MAX_VERSIONS_PAGE}.")
]
Before = Annotated[
    int | None,
    Field(ge=1, le=MAX_VERSION, description="Only versions older than this one (paging: next_before)."),
]
DiffAgainst = Annotated[
    Annotated[int, Field(ge=1, le=MAX_VERSION)] | Literal["current"] | None,
    Field(
        description="Instead of the content, a unified diff of it from this version (a number, "
        "or 'current' for the newest) to `version`."
    ),
]
Deleted = Annotated[
    bool,
    Field(
        description="True: the deleted article that last had this slug, even when a live article "
        "has the slug now (list_versions says so in deleted_also)."
    ),
]


class HistoryTools:
    """The history tools, bound to one ArticleService."""

    def __init__(self, articles: ArticleService, client_log: ClientLog) -> None:
        self._articles = articles
        self._log = client_log

    async def list_versions(
        self,
        slug: Slug,
        limit: VersionsLimit = 20,
        before: Before = None,
        deleted: Deleted = False,
    ) -> VersionPage:
        """List an article's versions, newest first, without content: what each write changed,
        its message, its author (the token's name, or the client's) and when.

        Works for deleted articles too (deleted: true in the result), so you can restore them.
        """
        return await self._articles.list_versions(slug, limit=limit, before=before, deleted=deleted)

    async def get_version(
        self,
        slug: Slug,
        version: VersionNumber,
        diff_against: DiffAgainst = None,
        deleted: Deleted = False,
    ) -> VersionDetail:
        """Read one version of an article: its title, folder, tags and content, or a diff."""
        return await self._articles.get_version(slug, version, diff_against=diff_against, deleted=deleted)

    async def restore_version(
        self,
        slug: Slug,
        version: VersionNumber,
        message: Message = None,
        expected_version: ExpectedVersion = None,
        deleted: Deleted = False,
        *,
        ctx: Context[Any, Any],
    ) -> ArticleWrite:
        """Make a past version current again: its title, content, folder, tags and no_rag.

        A restore is a new version (nothing is lost) and is queued for embedding like any
        update; the slug stays. It brings a deleted article back under its slug, or fails
        with a conflict if another article has taken that slug. Restoring the version that is
        already current changes nothing.
        """
        written = await self._articles.restore(
            slug,
            version,
            deleted=deleted,
            expected_version=expected_version,
            message=message,
            author=author(ctx),
        )
        await self._log.send(
            ctx,
            "info",
            f"restored {written.slug!r} to version {version} as version {written.version}; "
            f"{embedding_note(written)}",
        )
        return written

    # -- resources --------------------------------------------------------------------------

    async def versions_resource(self, slug: str) -> str:
        """`article://{slug}/versions`: the newest versions as JSON."""
        try:
            page = await self._articles.list_versions(slug, limit=MAX_VERSIONS_PAGE)
        except NotFoundError as exc:
            raise ResourceNotFoundError(exc.message) from exc
        return page.model_dump_json(indent=2)

    async def version_resource(self, slug: str, n: str) -> str:
        """`article://{slug}/versions/{n}`: the markdown of version n."""
        if not (n.isascii() and n.isdigit()) or int(n) < 1:
            raise ResourceNotFoundError(f"version: {n!r} is not a version number")
        try:
            version = await self._articles.get_version(slug, int(n))
        except NotFoundError as exc:
            raise ResourceNotFoundError(exc.message) from exc
        assert version.content is not None
        return version.content
