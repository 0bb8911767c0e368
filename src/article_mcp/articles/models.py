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
    version: int = Field(
        description="Grows by one with every change; pass it as expected_version to write safely."
    )
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


class StoredVersion(Frozen):
    """One version of an article as `export --with-history` writes it out."""

    version: int
    operation: VersionOperation
    title: str
    content: str
    folder: str
    tags: list[str]
    no_rag: bool
    message: str | None
    author: str | None
    created_at: datetime


class ArticleDeletion(Frozen):
    """The outcome of a delete."""

    slug: str
    title: str
    cancelled_tasks: int = Field(description="Embedding tasks of the article that were cancelled.")
    version: int | None = Field(
        default=None,
        description="The deletion's version in the history (restore_version undoes it); null when purged.",
    )
    purged_versions: int = Field(default=0, description="Versions removed with the article (purge=true).")


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


VersionOperation = Literal["create", "update", "rename", "delete", "restore"]


class VersionSummary(Frozen):
    """One version of an article, without its content."""

    version: int
    operation: VersionOperation = Field(description="The write that made this version.")
    slug: str = Field(description="The article's slug at this version.")
    title: str
    folder: str
    tags: list[str]
    no_rag: bool
    content_hash: str = Field(description="sha256 of title and content: equal hashes, equal text.")
    changed: list[str] = Field(description="The fields this version changed against the one before.")
    message: str | None = Field(description="Why, as the writer said it.")
    author: str | None = Field(description="Who wrote it: the MCP client's name.")
    restored_from: int | None = Field(description="The version a restore brought back.")
    size_bytes: int = Field(description="Size of the content in UTF-8 bytes.")
    created_at: datetime


class VersionPage(Frozen):
    """Versions of an article, newest first."""

    slug: str
    deleted: bool = Field(description="True: the article is deleted; restore_version brings it back.")
    deleted_also: bool = Field(
        description="True: a deleted article had this slug too; pass deleted=true to see its history."
    )
    current_version: int = Field(description="The newest version (the deletion, when deleted).")
    total: int = Field(description="Versions kept (ARTICLE_HISTORY_MAX_VERSIONS may prune old ones).")
    versions: list[VersionSummary]
    next_before: int | None = Field(description="Pass as `before` for the next page; null on the last.")


class VersionDetail(VersionSummary):
    """One version with its content, or a unified diff against another version."""

    content: str | None = Field(description="The markdown content (null when a diff was asked for).")
    diff_against: int | None = Field(default=None, description="The version the diff starts from.")
    diff: str | None = Field(
        default=None,
        description="Unified diff of the content from `diff_against` to this version ('' when equal).",
    )


class PruneReport(Frozen):
    """What pruning the history removed, or would remove (a dry run)."""

    keep: int = Field(description="Newest versions kept per article.")
    articles: int = Field(description="Articles that had older versions.")
    versions: int = Field(description="Versions removed (or that a dry run would remove).")
    kept: int = Field(description="Versions kept.")
    dry_run: bool
