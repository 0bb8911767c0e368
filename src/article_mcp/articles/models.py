"""What the article service returns: frozen pydantic models, also the MCP tools' output schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from article_mcp.db.rows import Frozen
from article_mcp.queue.tasks import StatusName

# Computed by the queue module's one status query (see queue.embedding_statuses).
EmbeddingStatus = StatusName

_STATUS_HELP = (
    "Embedding state for the active model: ready (searchable by meaning), pending (queued or "
    "being embedded), failed, stale (an older version is embedded), missing (not queued), "
    "disabled (no_rag or semantic search off)."
)


class ArticleSummary(Frozen):
    """An article without its content, as lists and searches show it."""

    slug: str = Field(description="The article's address; pass it to get/update/delete.")
    title: str
    folder: str = Field(description="Folder path like 'guides/python'; '' is the root.")
    tags: list[str]
    no_rag: bool = Field(description="True: never embedded, never in semantic search.")
    version: int = Field(description="Grows by one with every change of title or content.")
    size_bytes: int = Field(description="Size of the content in UTF-8 bytes.")
    created_at: datetime
    updated_at: datetime
    embedding_status: EmbeddingStatus = Field(description=_STATUS_HELP)


class Article(ArticleSummary):
    """A whole article."""

    content: str = Field(description="The markdown content.")
    embedding_task_id: int | None = Field(
        default=None, description="The article's latest embedding task for the active model, if any."
    )


class ArticleWrite(ArticleSummary):
    """The outcome of a create or update."""

    changed: list[str] = Field(description="The fields this write changed.")
    embedding_task_id: int | None = Field(
        default=None, description="The embedding task this write queued (none when nothing needs embedding)."
    )


class StoredArticle(Frozen):
    """An article as an export writes it out: what an import restores, nothing else."""

    slug: str
    title: str
    content: str
    folder: str
    tags: list[str]
    no_rag: bool
    created_at: datetime


class ArticleDeletion(Frozen):
    """The outcome of a delete."""

    slug: str
    title: str
    cancelled_tasks: int = Field(description="Embedding tasks of the article that were cancelled.")


class ArticlePage(Frozen):
    """One page of a listing, newest first."""

    articles: list[ArticleSummary]
    total: int = Field(description="Articles matching the filter, on every page.")
    offset: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last page.")


class FolderCount(Frozen):
    """A folder and how many articles it holds."""

    folder: str
    articles: int = Field(description="Articles directly in this folder.")
    total: int = Field(description="Articles in this folder and its subfolders.")


class FolderList(Frozen):
    """Every folder that holds articles (directly or in a subfolder)."""

    folders: list[FolderCount]
    root_articles: int = Field(description="Articles at the root (folder '').")
    total_articles: int


class ArticleMatch(ArticleSummary):
    """An article found by title or full-text search."""

    matched: Literal["title", "content", "title+content"] = Field(
        description="Where the query matched: the title, the text, or both."
    )
    score: float = Field(description="Higher is better; title matches rank first.")
    snippet: str = Field(description="The best matching passage, matches marked with **.")


class ArticleMatches(Frozen):
    """Articles matching a title or full-text search, best first."""

    query: str
    results: list[ArticleMatch]
