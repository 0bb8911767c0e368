"""`/api/articles`: list, create, read, replace, patch and delete articles, and `/api/folders`.

Each handler calls the article service, as the MCP tools do; bodies use the tools' argument
types, so the rules and their messages are the same. Writes honour `If-Match` (etags.py)
and record the principal as their author.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from article_mcp.articles.models import Article, ArticleDeletion, ArticlePage, ArticleWrite, FolderList
from article_mcp.articles.rules import MAX_BIGINT, MAX_TAGS, TAG_MAX_LENGTH
from article_mcp.articles.service import ArticleService
from article_mcp.server.rest.etags import tag_response
from article_mcp.server.rest.guards import Reader, Write, Writer, Writing, author
from article_mcp.server.tools import (
    Content,
    Folder,
    FolderFilter,
    Limit,
    Message,
    NewSlug,
    NoRag,
    Slug,
    Tags,
    Title,
)

ARTICLES = "/api/articles"

Purge = Annotated[
    bool, Query(description="True: also remove the article's history, so it cannot be restored.")
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ArticleBody(_Body):
    """An article's fields. POST: a new article, its slug made from the title. PUT: the whole
    article; fields left out take these defaults (the root folder, no tags, no_rag false)."""

    title: Title
    content: Content
    folder: Folder = ""
    tags: Tags = Field(default_factory=list)
    no_rag: NoRag = False
    message: Message = None


class ArticlePatch(_Body):
    """The fields to change; those left out (or null) stay as they are."""

    title: Title | None = None
    content: Content | None = None
    folder: Folder | None = None
    tags: Tags | None = None
    no_rag: NoRag | None = None
    new_slug: NewSlug = None
    message: Message = None


def article_url(slug: str) -> str:
    """The article's path, percent-encoded (a slug may hold any letter; a header only ASCII)."""
    return f"{ARTICLES}/{quote(slug, safe='')}"


def articles_router(articles: ArticleService) -> APIRouter:
    """The article endpoints over this service."""
    router = APIRouter(tags=["articles"])

    @router.get(ARTICLES, summary="List articles, most recently changed first")
    async def list_articles(
        _: Reader,
        folder: FolderFilter = "",
        tag: Annotated[
            list[Annotated[str, Field(min_length=1, max_length=TAG_MAX_LENGTH)]],
            Query(max_length=MAX_TAGS, description="Only articles carrying every tag given (repeatable)."),
        ] = [],  # noqa: B006 - FastAPI copies defaults
        limit: Limit = 20,
        cursor: Annotated[
            int, Query(ge=0, le=MAX_BIGINT, description="The next_offset of the page before (paging).")
        ] = 0,
    ) -> ArticlePage:
        return await articles.list(folder, tags=tag, limit=limit, offset=cursor)

    @router.post(ARTICLES, status_code=201, summary="Create an article")
    async def create_article(body: ArticleBody, principal: Writer, response: Response) -> ArticleWrite:
        written = await articles.create(
            body.title,
            body.content,
            folder=body.folder,
            tags=body.tags,
            no_rag=body.no_rag,
            message=body.message,
            author=author(principal),
        )
        response.headers["Location"] = article_url(written.slug)
        tag_response(response, written.version)
        return written

    @router.get(ARTICLES + "/{slug}", summary="Read an article")
    async def get_article(slug: Slug, _: Reader, response: Response) -> Article:
        found = await articles.get(slug)
        tag_response(response, found.version)
        return found

    @router.put(ARTICLES + "/{slug}", summary="Replace an article's fields")
    async def replace_article(
        slug: Slug, body: ArticleBody, write: Writing, response: Response
    ) -> ArticleWrite:
        return await _update(response, slug, body, write)

    @router.patch(ARTICLES + "/{slug}", summary="Change some of an article's fields")
    async def patch_article(
        slug: Slug,
        body: ArticlePatch,
        write: Writing,
        response: Response,
    ) -> ArticleWrite:
        return await _update(response, slug, body, write)

    async def _update(
        response: Response,
        slug: str,
        body: ArticleBody | ArticlePatch,
        write: Write,
    ) -> ArticleWrite:
        fields = body.model_dump(exclude_none=True)
        written = await articles.update(slug, **fields, **write.arguments())
        tag_response(response, written.version)
        return written

    @router.delete(ARTICLES + "/{slug}", summary="Delete an article (its history stays unless purged)")
    async def delete_article(
        slug: Slug, write: Writing, purge: Purge = False, message: Message = None
    ) -> ArticleDeletion:
        return await articles.delete(slug, purge=purge, message=message, **write.arguments())

    @router.get("/api/folders", summary="List folders with their article counts")
    async def list_folders(_: Reader) -> FolderList:
        return await articles.folders()

    return router
