"""`/api/articles/{slug}/versions`: an article's history, one version, and a restore."""

from __future__ import annotations

from fastapi import APIRouter, Response

from article_mcp.articles.models import ArticleWrite, VersionDetail, VersionPage
from article_mcp.articles.service import ArticleService
from article_mcp.server.history_tools import Before, Deleted, DiffAgainst, VersionNumber, VersionsLimit
from article_mcp.server.rest.articles import ARTICLES
from article_mcp.server.rest.etags import tag_response
from article_mcp.server.rest.guards import Reader, Writing
from article_mcp.server.tools import Message, Slug

VERSIONS = ARTICLES + "/{slug}/versions"


def versions_router(articles: ArticleService) -> APIRouter:
    """The history endpoints over this service."""
    router = APIRouter(tags=["versions"])

    @router.get(VERSIONS, summary="List an article's versions, newest first")
    async def list_versions(
        slug: Slug,
        _: Reader,
        limit: VersionsLimit = 20,
        before: Before = None,
        deleted: Deleted = False,
    ) -> VersionPage:
        return await articles.list_versions(slug, limit=limit, before=before, deleted=deleted)

    @router.get(VERSIONS + "/{n}", summary="Read one version of an article, or a diff")
    async def get_version(
        slug: Slug,
        n: VersionNumber,
        _: Reader,
        diff_against: DiffAgainst = None,
        deleted: Deleted = False,
    ) -> VersionDetail:
        return await articles.get_version(slug, n, diff_against=diff_against, deleted=deleted)

    @router.post(VERSIONS + "/{n}/restore", summary="Make version n current again, as a new version")
    async def restore_version(
        slug: Slug,
        n: VersionNumber,
        write: Writing,
        response: Response,
        deleted: Deleted = False,
        message: Message = None,
    ) -> ArticleWrite:
        written = await articles.restore(slug, n, deleted=deleted, message=message, **write.arguments())
        tag_response(response, written.version)
        return written

    return router
